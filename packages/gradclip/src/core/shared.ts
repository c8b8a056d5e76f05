/**
 * Registries shared by every copy of gradclip loaded in one JavaScript realm.
 *
 * The package ships an ES module build and a CommonJS build; an app that
 * `import`s gradclip while one of its dependencies `require`s it runs both,
 * each with its own module state. Registrations (clipper options, per-backend
 * paths, kernel providers, the optimizer class tfjs deserializes) must not
 * split between them, so every registry lives here, on `globalThis` under
 * one `Symbol.for` key, and the first copy to load creates each one.
 */

/**
 * The key of the registry object on `globalThis`. The `v1` names the shape
 * of what is registered: change it whenever a registered value's contract
 * changes, so that copies of different gradclip versions that could not
 * work with each other's entries keep separate registries.
 */
export const SHARED_REGISTRY_KEY: unique symbol = Symbol.for("gradclip.registry.v1");

type SharedRegistries = Map<string, unknown>;

/**
 * The registry called `name`, created with `create()` by the first copy of
 * gradclip that asks for it in this realm, and the same object for every
 * copy after that.
 */
export function sharedRegistry<T>(name: string, create: () => T): T {
  const holder = globalThis as { [SHARED_REGISTRY_KEY]?: SharedRegistries };
  let all = holder[SHARED_REGISTRY_KEY];
  if (!all) {
    all = new Map();
    // Not enumerable, not writable: a stray Object.assign(globalThis, ...) cannot drop it.
    Object.defineProperty(holder, SHARED_REGISTRY_KEY, {
      value: all,
      enumerable: false,
      writable: false,
      configurable: false,
    });
  }
  if (!all.has(name)) all.set(name, create());
  return all.get(name) as T;
}
