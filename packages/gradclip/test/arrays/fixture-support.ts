/**
 * Every input form the typed-array functions accept, for the conformance
 * tests (the fixture files themselves: ../support/conformance.ts).
 */
import type { Grad, Grads, GradSource } from "../../src/arrays/grads.js";

/**
 * One way of handing the gradients to a function. `build` gets fresh arrays
 * (null where a parameter has no gradient) and returns the argument to pass;
 * the arrays are then read back to check the in-place result.
 */
export interface InputForm {
  name: string;
  /** Whether this form can express the given list (e.g. "single" needs exactly one entry). */
  applies(grads: readonly (Grad | null)[]): boolean;
  build(grads: readonly (Grad | null)[]): Grads;
}

function* generate(sources: readonly GradSource[]): Generator<GradSource> {
  yield* sources;
}

/** A generator that fails the test if it is iterated a second time. */
function onceOnly(sources: readonly GradSource[]): Iterable<GradSource> {
  const gen = generate(sources);
  let started = false;
  return {
    [Symbol.iterator]() {
      if (started) throw new Error("the generator was iterated twice");
      started = true;
      return gen;
    },
  };
}

export const inputForms: readonly InputForm[] = [
  { name: "array of typed arrays with null", applies: () => true, build: (g) => [...g] },
  { name: "array with undefined", applies: () => true, build: (g) => g.map((x) => x ?? undefined) },
  {
    name: "{ grad } objects",
    applies: () => true,
    build: (g) => g.map((x, i) => ({ grad: x ?? (i % 2 === 0 ? null : undefined) })),
  },
  { name: "generator (consumed once)", applies: () => true, build: (g) => onceOnly(g) },
  {
    name: "generator of mixed sources",
    applies: () => true,
    build: (g) => generate(g.map((x, i) => (i % 2 === 0 ? x : { grad: x }))),
  },
  {
    name: "Set",
    applies: (g) => new Set(g.filter((x) => x !== null)).size === g.filter((x) => x !== null).length,
    build: (g) => new Set(g),
  },
  { name: "single typed array", applies: (g) => g.length === 1 && g[0] !== null, build: (g) => g[0]! },
  { name: "single { grad }", applies: (g) => g.length === 1, build: (g) => ({ grad: g[0] }) },
  { name: "single null", applies: (g) => g.length === 1 && g[0] === null, build: () => null },
];

export function formsFor(grads: readonly (Grad | null)[]): InputForm[] {
  return inputForms.filter((f) => f.applies(grads));
}
