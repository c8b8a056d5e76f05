/**
 * One step of the gradient monitor: what a caller reports, and what is kept.
 */
import { clipCoefficient } from "../core/coefficient.js";
import { describeValue, messageOf } from "../core/describe.js";
import { isPlainObject, readFields } from "../core/options.js";
import { checkNorm } from "../core/validate.js";

/**
 * What a caller reports for one step. Only `totalNorm` is required; a
 * `ClipResult` from any clipper (`clipGradNorm_` wrappers, `AutoClip`,
 * `ZClip`, `AGC`) can be passed as it is, plus `loss`/`skipped`/`norms`
 * (other keys, such as AGC's `units`, are ignored). Each field is read once.
 *
 * @example
 * ```ts
 * import { GradientMonitor, type MonitorStepInput } from "gradclip";
 *
 * const step: MonitorStepInput = { totalNorm: 4, maxNorm: 1, loss: 2.3 };
 * const record = new GradientMonitor().record(step);
 * console.log(record.step, record.clipped, record.coefficient.toFixed(4));
 * ```
 * ```text
 * 0 true 0.2500
 * ```
 */
export interface MonitorStepInput {
  /** Step index; default: the previous record's step + 1 (0 for the first). */
  step?: number;
  /** The total gradient norm before clipping (NaN / Infinity allowed). */
  totalNorm: number;
  /** The threshold applied (`Infinity`: none; `null`/`undefined`/NaN: no single threshold). */
  maxNorm?: number | null;
  /** The factor the gradients were scaled by. Default `clipCoefficient(maxNorm, totalNorm)` when `maxNorm` is a number, else 1. */
  coefficient?: number;
  /** Default `coefficient < 1`. */
  clipped?: boolean;
  /** Default: `totalNorm` (or a given `loss`) is NaN or infinite. */
  nonFinite?: boolean;
  /** The optimizer step was skipped (`nonFinite: "skip"` policy). Default false. */
  skipped?: boolean;
  /** The loss of this step, when known. */
  loss?: number | null;
  /** Per-variable gradient norms by name (Lightning's `grad_norm` style). */
  norms?: Readonly<Record<string, number>>;
}

/**
 * A recorded step, every field resolved from its `MonitorStepInput`.
 *
 * @example
 * ```ts
 * import { GradientMonitor, type MonitorRecord } from "gradclip";
 *
 * const record: MonitorRecord = new GradientMonitor().record({ totalNorm: 0.5, maxNorm: 1 });
 * console.log(record);
 * ```
 * ```text
 * {
 *   step: 0,
 *   totalNorm: 0.5,
 *   maxNorm: 1,
 *   coefficient: 1,
 *   clipped: false,
 *   nonFinite: false,
 *   skipped: false,
 *   loss: null
 * }
 * ```
 */
export interface MonitorRecord {
  /** The step index (strictly increasing within a monitor). */
  step: number;
  /** The total gradient norm before clipping (NaN / Infinity possible). */
  totalNorm: number;
  /** The threshold applied; `null`: no single threshold this step (AGC, or not reported). */
  maxNorm: number | null;
  /** The factor the gradients were scaled by (1: unchanged). */
  coefficient: number;
  /** Whether the step's gradients were scaled down or clamped. */
  clipped: boolean;
  /** Whether the norm (or the loss) was NaN or infinite. */
  nonFinite: boolean;
  /** Whether the optimizer step was skipped. */
  skipped: boolean;
  /** `null`: not reported. */
  loss: number | null;
  /** Absent when not reported. */
  norms?: Record<string, number>;
}

function checkNumber(value: unknown, name: string): number {
  if (typeof value !== "number")
    throw new TypeError(`gradclip: GradientMonitor: ${name} must be a number; got ${describeValue(value)}.`);
  return value;
}

function checkFlag(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean")
    throw new TypeError(`gradclip: GradientMonitor: ${name} must be a boolean; got ${describeValue(value)}.`);
  return value;
}

/** A step's scalar fields, in the order of the history's CSV columns. */
export const STEP_SCALAR_FIELDS = [
  "step",
  "totalNorm",
  "maxNorm",
  "coefficient",
  "clipped",
  "nonFinite",
  "skipped",
  "loss",
] as const;

/** The keys a step (and the monitor's column-wise input) may have. */
export const STEP_KEYS = [...STEP_SCALAR_FIELDS, "norms"] as const;

/**
 * Validates one step and fills in its defaults (see `MonitorStepInput`).
 * Each field is read once (a getter that throws is a TypeError naming it).
 * Throws TypeError / RangeError naming the field before anything is recorded.
 */
export function resolveStep(input: MonitorStepInput, previousStep: number | null): MonitorRecord {
  if (typeof input !== "object" || input === null) {
    throw new TypeError(
      `gradclip: GradientMonitor: a step must be an object with at least totalNorm; got ${describeValue(input)}.`,
    );
  }
  const f = readFields(input, "GradientMonitor: step", STEP_KEYS);
  const totalNorm = checkNorm(f.totalNorm, "GradientMonitor: totalNorm");
  const step = f.step === undefined ? (previousStep === null ? 0 : previousStep + 1) : checkNumber(f.step, "step");
  if (!Number.isSafeInteger(step))
    throw new RangeError(`gradclip: GradientMonitor: step must be an integer; got ${step}.`);
  if (previousStep !== null && step <= previousStep)
    throw new RangeError(
      `gradclip: GradientMonitor: step must be after the previous one (${previousStep}); got ${step}. Give each step once, in order (or omit step to count on).`,
    );
  let maxNorm: number | null = null;
  if (f.maxNorm !== undefined && f.maxNorm !== null) {
    maxNorm = checkNumber(f.maxNorm, "maxNorm");
    if (Number.isNaN(maxNorm)) maxNorm = null;
    else if (maxNorm < 0) throw new RangeError(`gradclip: GradientMonitor: maxNorm must be >= 0; got ${maxNorm}.`);
  }
  const coefficient =
    f.coefficient !== undefined
      ? checkNumber(f.coefficient, "coefficient")
      : maxNorm === null
        ? 1
        : clipCoefficient(maxNorm, totalNorm);
  const loss = f.loss === undefined || f.loss === null ? null : checkNumber(f.loss, "loss");
  const nonFinite = checkFlag(
    f.nonFinite,
    "nonFinite",
    !Number.isFinite(totalNorm) || (loss !== null && !Number.isFinite(loss)),
  );
  const record: MonitorRecord = {
    step: step === 0 ? 0 : step, // -0 is a step index of 0
    totalNorm: totalNorm === 0 ? 0 : totalNorm,
    maxNorm,
    coefficient,
    clipped: checkFlag(f.clipped, "clipped", coefficient < 1),
    nonFinite,
    skipped: checkFlag(f.skipped, "skipped", false),
    loss,
  };
  if (f.norms !== undefined) record.norms = checkNorms(f.norms);
  return record;
}

/**
 * A copy of the per-variable norms, every name kept as an own property: a
 * variable may be called `__proto__` or `constructor` (an assignment
 * `out[name] = n` would set the prototype instead, losing the norm).
 */
function checkNorms(norms: unknown): Record<string, number> {
  if (!isPlainObject(norms)) {
    const hint = norms instanceof Map ? " (a Map? pass Object.fromEntries(map))" : "";
    throw new TypeError(
      `gradclip: GradientMonitor: norms must be a plain object { [name]: number }${hint}; got ${describeValue(norms)}.`,
    );
  }
  let entries: [string, unknown][];
  try {
    entries = Object.entries(norms);
  } catch (e) {
    throw new TypeError(`gradclip: GradientMonitor: reading norms threw: ${messageOf(e)}`, { cause: e });
  }
  const out: [string, number][] = [];
  for (const [name, v] of entries) {
    const key = `norms[${JSON.stringify(name)}]`;
    out.push([name, checkNorm(v, `GradientMonitor: ${key}`)]);
  }
  return Object.fromEntries(out); // own data properties, whatever the names
}

/** A copy of a record that shares nothing with it (its norms copied too, names kept as own properties). */
export function copyRecord(r: MonitorRecord): MonitorRecord {
  return r.norms ? { ...r, norms: { ...r.norms } } : { ...r };
}
