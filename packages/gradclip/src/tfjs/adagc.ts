/**
 * AdaGC (Wang et al., arXiv 2502.11034) as a clipper of the optimizer
 * wrapper: the `{ adagc: {...} }` option key (listed in `options.ts`).
 *
 * The rule is the core's `adaGcRule`, so this and the typed-array `AdaGC`
 * compute the same coefficients from the same per-tensor norms; γ is kept
 * per variable name and saved with the model.
 */
import { adaGcRule, ADAGC_RULE_KEYS, type AdaGcRuleOptions, type AdaGcState } from "../adaptive/adagc.js";
import { combineNorms } from "../core/combine.js";
import * as tf from "@tensorflow/tfjs-core";
import { describeValue } from "../core/describe.js";
import {
  checkNestedOptions,
  smallest,
  within,
  type ClipperOption,
  type GradientClipper,
  type JsonValue,
} from "./clipper.js";
import { presentNorms, scaleBy } from "./norm.js";
import { clipPathForActiveBackend, type ScalarValue } from "./backends/index.js";

/** Checks `{ adagc: {...} }` and returns the given keys as a new object (what is saved). */
function parseAdaGc(value: unknown, where: string): AdaGcRuleOptions {
  const out = checkNestedOptions(value, where, ADAGC_RULE_KEYS);
  within(where, () => adaGcRule(out));
  return out as AdaGcRuleOptions;
}

/** Each gradient's L2 norm on the host: free on cpu/wasm, one read of the stacked norms otherwise. */
function hostNorms(values: readonly ScalarValue[]): number[] {
  if (values.every((v): v is number => typeof v === "number")) return [...values];
  const stacked = tf.tidy(() =>
    tf.stack(values.map((v) => (typeof v === "number" ? tf.scalar(v, "float32") : tf.reshape(v, [])))),
  );
  try {
    return Array.from(stacked.dataSync());
  } finally {
    stacked.dispose();
  }
}

/**
 * A restored γ under this step's names. tfjs renames a loaded model's
 * variables when their names are taken by live ones (`dense_Dense1/kernel`
 * becomes `dense_Dense1/kernel_1`); optimizers restore their slots by
 * position, and so does this: when none of the step's names has a γ and the
 * saved order has as many names, γ moves over position by position.
 */
function remapped(state: AdaGcState, saved: readonly string[], names: readonly string[]): AdaGcState {
  if (names.length !== saved.length || names.some((n) => Object.hasOwn(state.gamma, n))) return state;
  const gamma: { [name: string]: number } = {};
  names.forEach((n, i) => {
    const g = state.gamma[saved[i]!];
    if (g !== undefined)
      Object.defineProperty(gamma, n, { value: g, enumerable: true, writable: true, configurable: true });
  });
  return { step: state.step, gamma };
}

function makeAdaGc(o: AdaGcRuleOptions): GradientClipper & { readonly state: AdaGcState } {
  const rule = adaGcRule(o);
  let state = rule.init();
  // The names of the last step, in order (saved with γ; see `remapped`), and the saved ones until the first step after a restore.
  let order: string[] = [];
  let restoredOrder: string[] | null = null;
  return {
    kind: "adagc",
    get state() {
      return state;
    },
    clip(step) {
      const k = clipPathForActiveBackend();
      const measured = presentNorms(k, step.grads, step.names, 2);
      const { indices: present, names } = measured;
      if (restoredOrder) state = remapped(state, restoredOrder, names);
      const norms = hostNorms(measured.norms);
      const r = rule.update(state, {
        // From the per-tensor norms, as the typed-array AdaGC: no second read for the global norm.
        totalNorm: combineNorms(norms, 2),
        norms: names.map((name, j) => ({ name, norm: norms[j]! })),
      });
      const grads = [...step.grads];
      present.forEach((i, j) => {
        grads[i] = scaleBy(k, step.grads[i]!, r.coefficients[j]!, { owned: false });
      });
      state = r.state;
      order = names;
      restoredOrder = null;
      return { grads, ...smallest(r.coefficients), ...(r.warmup ? { maxNorm: rule.options.maxNorm } : {}) };
    },
    getState: () => ({ ...structuredClone(state), order: [...order] }) as unknown as JsonValue,
    setState(json) {
      const parsed = rule.parseState(json);
      const saved = (json as { order?: unknown }).order;
      if (saved !== undefined && !(Array.isArray(saved) && saved.every((n) => typeof n === "string"))) {
        throw new TypeError(
          `gradclip: adagc state.order must be an array of variable names; got ${describeValue(saved)}.`,
        );
      }
      state = parsed;
      order = [...((saved as string[] | undefined) ?? [])];
      restoredOrder = order;
    },
  };
}

/**
 * The `adagc` option key: AdaGC as a wrapper clipper (see `adaGcRule`):
 * `warmupSteps` steps of global-norm clipping with `maxNorm`, then each
 * variable's gradient clipped to `clipRatio · γ`, γ the EMA of its clipped
 * norms (β `beta`), kept by variable name. Reads the per-variable norms on
 * the host once per step (free on cpu and wasm, one stacked read on
 * webgl/webgpu). The step reports the smallest coefficient, `clipped` when
 * one is below 1, and `maxNorm` during warmup. State (`{ step, gamma,
 * order }`) is saved with the model and validated on load; a loaded
 * model whose variables tfjs renamed (a name taken by a live variable gets
 * `_1`) gets its γ back by position, as tfjs optimizers restore their slots.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { adagc: { clipRatio: 1.04, beta: 0.99, warmupSteps: 1 } });
 * tf.variable(tf.tensor1d([0, 0]), true, "w");
 * for (const g of [[3, 4], [30, 40]]) optimizer.applyGradients({ w: tf.tensor1d(g) });
 * console.log(optimizer.clipper.getState?.());
 * ```
 * ```text
 * { step: 2, gamma: { w: 1.00039979992004 }, order: [ 'w' ] }
 * ```
 */
export const adaGcOption: ClipperOption<AdaGcRuleOptions> = { key: "adagc", parse: parseAdaGc, create: makeAdaGc };
