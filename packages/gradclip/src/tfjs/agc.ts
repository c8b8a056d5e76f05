/**
 * AGC, unit-wise adaptive gradient clipping (Brock, De, Smith & Simonyan,
 * 2021), on tensors: the wrapper strategy behind `{ agc: {...} }`.
 *
 * The unit scale is the core's `agcUnitScaleWith` evaluated with tf ops on
 * the tensors of per-unit norms, and the units are the core's
 * `unitReductionAxes`, so this and the typed-array `AGC` apply the same rule.
 * Everything runs on the device: no host read.
 */
import * as tf from "@tensorflow/tfjs-core";
import { resolveAgcSettings, type AgcSettings } from "../adaptive/agc.js";
import { agcUnitScaleWith, type AgcScaleOps } from "../adaptive/agc-scale.js";
import { unitReductionAxes, type UnitAxis } from "../adaptive/units.js";
import { describeValue } from "../core/describe.js";
import { belowOne, checkNestedOptions, within, type ClipperOption, type GradientClipper } from "./clipper.js";
import { maxAndMeanPow } from "./ops.js";

/**
 * Options of `{ agc: {...} }` and `agcClipper` (JSON, so they save with
 * the model). Unknown keys are a `TypeError` with a "did you mean" hint.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping, type AgcClipperOptions } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const agc: AgcClipperOptions = { clipping: 0.01, eps: 1e-3, unitAxis: "last", exclude: ["head/bias"], excludePattern: "^head/" };
 * console.log(withGradientClipping(tf.train.sgd(0.1), { agc }).clipper.kind);
 * ```
 * ```text
 * agc
 * ```
 */
export interface AgcClipperOptions {
  /** λ, the largest allowed ratio ||G_u|| / max(||W_u||, eps); > 0. Default 0.01. */
  clipping?: number;
  /** Floor on the parameter norm; > 0. Default 1e-3. */
  eps?: number;
  /** `"last"` (tfjs/Keras layouts, default) or `"first"` (PyTorch layouts). */
  unitAxis?: UnitAxis;
  /** Variable names left unclipped, exactly as tfjs names them (e.g. `"classifier/kernel"`). */
  exclude?: string[];
  /** A regular expression (source text, tested with `RegExp.test`) for more names to leave unclipped, e.g. `"^classifier/"`. */
  excludePattern?: string;
}

/** The unit-scale arithmetic on tensors of per-unit norms. */
const tensorScaleOps: AgcScaleOps<tf.Tensor> = {
  // Kept NaN explicitly: not every backend's maximum is documented to propagate it.
  maximumConstant: (x, c) => tf.where(tf.isNaN(x), x, tf.maximum(x, c)),
  mulConstant: (x, c) => tf.mul(x, c),
  divide: (a, b) => tf.div(a, b),
  // `greater` is false for NaN: scale 1, as the formula requires.
  whereGreater: (x, c, ifTrue) => tf.where(tf.greater(x, c), ifTrue, tf.onesLike(ifTrue)),
};

/**
 * Each unit's L2 norm as a tensor shaped to broadcast against `x` (reduced
 * axes kept as size 1; the typed-array AGC's `arrayUnitNorms` gives a flat
 * list instead). Computed as `m · sqrt(mean((|x| / m)²)) · sqrt(unitSize)`
 * with `m` the unit's max |x| (`maxAndMeanPow`, the generic total norm's
 * recipe), so no intermediate exceeds 1; `m = 0` gives 0, `m = Infinity`
 * gives Infinity, NaN anywhere in the unit gives NaN.
 */
export function tensorUnitNorms(x: tf.Tensor, axes: readonly number[]): tf.Tensor {
  if (x.rank === 0) return tf.abs(x);
  const a = tf.abs(x);
  const ax = [...axes];
  const unitSize = ax.reduce((n, i) => n * x.shape[i]!, 1);
  const { max: m, meanPow: q } = maxAndMeanPow(a, 2, ax);
  const n = tf.mul(tf.mul(m, tf.sqrt(q)), Math.sqrt(unitSize));
  const finite = tf.where(tf.equal(m, 0), tf.zerosLike(m), tf.where(tf.equal(m, Infinity), m, n));
  return tf.where(tf.any(tf.isNaN(x), ax, true), tf.fill(m.shape, NaN), finite);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * AGC as a wrapper strategy. For each gradient G of a variable W not
 * excluded, and each unit u (one output channel along `unitAxis`; the whole
 * tensor for scalars and vectors):
 *
 *     w* = max(||W_u||₂, eps)
 *     G_u ← ||G_u|| / w* > λ ? G_u · λ · w* / max(||G_u||₂, 1e-6) : G_u
 *
 * (`agcUnitScaleWith`), so `||G_u|| <= λ · max(||W_u||, eps)` afterwards up to
 * float32 rounding. W is read through `step.variable(name)` (its values
 * before this step's update). NaN norms leave the unit as it is (NaN
 * propagates); an infinite gradient unit gets scale 0. No host read; every
 * intermediate is disposed (the wrapper runs strategies in `tf.tidy`). The
 * step reports no single `maxNorm`; its `coefficient` is the smallest unit
 * scale (1 when nothing was clipped), a device scalar, and it is `clipped`
 * when that is below 1 (some unit was scaled down).
 *
 * What `withGradientClipping(opt, { agc: options })` clips with; an
 * extension seam (`gradclip/tfjs/extend`): it may change in minor versions.
 *
 * @param options See `AgcClipperOptions`.
 * @throws TypeError / RangeError for bad options (before training); at a step,
 *   TypeError when a gradient's variable cannot be found by name and
 *   RangeError when its shape differs (before anything is applied).
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping } from "gradclip/tfjs";
 * import { agcClipper } from "gradclip/tfjs/extend";
 *
 * await tf.setBackend("cpu");
 * const optimizer = withGradientClipping(tf.train.sgd(1), { clipper: agcClipper({ clipping: 0.1 }) }); // like { agc: {...} }, but not saved
 * const w = tf.variable(tf.tensor2d([[2], [0]]), true, "dense/kernel"); // one unit (last axis), ||W|| = 2
 * optimizer.onStep((info) => console.log(info.coefficient!.dataSync()[0]!.toFixed(4)));
 * optimizer.applyGradients({ "dense/kernel": tf.tensor2d([[3], [4]]) }); // ||G|| = 5 > 0.1 · 2
 * console.log(w.dataSync());
 * ```
 * ```text
 * 0.0400
 * Float32Array(2) [ 1.8799999952316284, -0.1599999964237213 ]
 * ```
 */
export function agcClipper(options?: AgcClipperOptions): GradientClipper {
  return makeAgc(parseAgc(options, "agcClipper"));
}

const AGC_KEYS = ["clipping", "eps", "unitAxis", "exclude", "excludePattern"] as const;

/** Checks `{ agc: {...} }` and returns the given keys as a new object (what is saved). */
function parseAgc(value: unknown, where: string): AgcClipperOptions {
  const o = checkNestedOptions(value, where, AGC_KEYS);
  if (o.exclude !== undefined && !(Array.isArray(o.exclude) && o.exclude.every((x) => typeof x === "string"))) {
    throw new TypeError(
      `gradclip: ${where}: exclude must be an array of variable names (strings); got ${describeValue(o.exclude)}.`,
    );
  }
  if (o.excludePattern !== undefined && typeof o.excludePattern !== "string") {
    throw new TypeError(
      `gradclip: ${where}: excludePattern must be a regular expression's source text; got ${describeValue(o.excludePattern)}.`,
    );
  }
  // A copy of the list: the saved options must not follow later changes to the caller's array.
  const out = (o.exclude === undefined ? o : { ...o, exclude: [...(o.exclude as string[])] }) as AgcClipperOptions;
  settingsOf(out, where);
  return out;
}

function settingsOf(o: AgcClipperOptions, where: string): AgcSettings {
  let pattern: RegExp[] = [];
  if (o.excludePattern !== undefined) {
    try {
      pattern = [new RegExp(o.excludePattern)];
    } catch (e) {
      throw new TypeError(
        `gradclip: ${where}: excludePattern is not a valid regular expression: ${(e as Error).message}`,
      );
    }
  }
  // The core's checks and exclusion rule, shared with the typed-array AGC.
  return within(where, () =>
    resolveAgcSettings(
      { clipping: o.clipping, eps: o.eps, unitAxis: o.unitAxis, exclude: [...(o.exclude ?? []), ...pattern] },
      where,
    ),
  );
}

function makeAgc(o: AgcClipperOptions): GradientClipper {
  const { clipping, eps, unitAxis, excludes } = settingsOf(o, "agc");
  return {
    kind: "agc",
    clip(step) {
      // Look every variable up first, so a missing one throws before any op runs.
      const params = step.grads.map((g, i) => {
        const name = step.names[i]!;
        if (!g || g.size === 0 || excludes(name)) return null;
        const v = step.variable(name);
        if (!v) {
          throw new TypeError(
            `gradclip: agc needs each parameter's values, but no variable is named ${JSON.stringify(name)}; pass gradients keyed by variable name.`,
          );
        }
        if (!sameShape(v.shape, g.shape)) {
          throw new RangeError(
            `gradclip: agc: variable ${JSON.stringify(name)} has shape [${v.shape.join(", ")}] but its gradient [${g.shape.join(", ")}].`,
          );
        }
        return v;
      });
      const scales: tf.Tensor[] = [];
      const grads = step.grads.map((g, i) => {
        const v = params[i];
        if (!g || !v) return g;
        const axes = unitReductionAxes(g.rank, unitAxis);
        const scale = agcUnitScaleWith(
          tensorScaleOps,
          tensorUnitNorms(g, axes),
          tensorUnitNorms(v, axes),
          clipping,
          eps,
        );
        scales.push(tf.reshape(scale, [-1]));
        return tf.mul(g, scale);
      });
      if (scales.length === 0) return { grads, coefficient: 1, clipped: false };
      const coefficient = tf.min(tf.concat(scales)) as tf.Scalar;
      // Asked for by step listeners only (as globalNormClipper's): a device comparison costs programs on a GPU.
      return { grads, coefficient, clipped: () => belowOne(coefficient) };
    },
  };
}

/** The `agc` option key. */
export const agcOption: ClipperOption<AgcClipperOptions> = { key: "agc", parse: parseAgc, create: makeAgc };
