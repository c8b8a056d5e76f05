/**
 * One step of the gradient monitor: what a caller reports, and what is kept.
 */
import { clipCoefficient } from "../core/coefficient.js";
import { describe } from "../core/validate.js";

/**
 * What a caller reports for one step. Only `totalNorm` is required; a
 * `ClipResult` from any clipper (`clipGradNorm_` wrappers, `AutoClip`,
 * `ZClip`, `AGC`) can be passed as it is, plus `loss`/`skipped`/`norms`.
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

/** A recorded step: every field resolved. */
export interface MonitorRecord {
  step: number;
  totalNorm: number;
  /** `null`: no single threshold this step. */
  maxNorm: number | null;
  coefficient: number;
  clipped: boolean;
  nonFinite: boolean;
  skipped: boolean;
  /** `null`: not reported. */
  loss: number | null;
  /** Absent when not reported. */
  norms?: Record<string, number>;
}

function checkNumber(value: unknown, name: string): number {
  if (typeof value !== "number") throw new TypeError(`gradclip: GradientMonitor: ${name} must be a number; got ${describe(value)}.`);
  return value;
}

function checkFlag(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new TypeError(`gradclip: GradientMonitor: ${name} must be a boolean; got ${describe(value)}.`);
  return value;
}

/**
 * Validates one step and fills in its defaults (see `MonitorStepInput`).
 * Throws TypeError / RangeError naming the field before anything is recorded.
 */
export function resolveStep(input: MonitorStepInput, previousStep: number | null): MonitorRecord {
  if (typeof input !== "object" || input === null) {
    throw new TypeError(`gradclip: GradientMonitor: a step must be an object with at least totalNorm; got ${describe(input)}.`);
  }
  const totalNorm = checkNumber(input.totalNorm, "totalNorm");
  if (totalNorm < 0) throw new RangeError(`gradclip: GradientMonitor: totalNorm is a norm and must be >= 0 (or NaN/Infinity); got ${totalNorm}.`);
  const step = input.step === undefined ? (previousStep === null ? 0 : previousStep + 1) : checkNumber(input.step, "step");
  if (!Number.isSafeInteger(step)) throw new RangeError(`gradclip: GradientMonitor: step must be an integer; got ${step}.`);
  let maxNorm: number | null = null;
  if (input.maxNorm !== undefined && input.maxNorm !== null) {
    maxNorm = checkNumber(input.maxNorm, "maxNorm");
    if (Number.isNaN(maxNorm)) maxNorm = null;
    else if (maxNorm < 0) throw new RangeError(`gradclip: GradientMonitor: maxNorm must be >= 0; got ${maxNorm}.`);
  }
  const coefficient =
    input.coefficient !== undefined ? checkNumber(input.coefficient, "coefficient") : maxNorm === null ? 1 : clipCoefficient(maxNorm, totalNorm);
  const loss = input.loss === undefined || input.loss === null ? null : checkNumber(input.loss, "loss");
  const nonFinite = checkFlag(input.nonFinite, "nonFinite", !Number.isFinite(totalNorm) || (loss !== null && !Number.isFinite(loss)));
  const record: MonitorRecord = {
    step,
    totalNorm,
    maxNorm,
    coefficient,
    clipped: checkFlag(input.clipped, "clipped", coefficient < 1),
    nonFinite,
    skipped: checkFlag(input.skipped, "skipped", false),
    loss,
  };
  if (input.norms !== undefined) record.norms = checkNorms(input.norms);
  return record;
}

function checkNorms(norms: unknown): Record<string, number> {
  if (typeof norms !== "object" || norms === null || Array.isArray(norms)) {
    throw new TypeError(`gradclip: GradientMonitor: norms must be an object { [name]: number }; got ${describe(norms)}.`);
  }
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(norms)) {
    const key = `norms[${JSON.stringify(name)}]`;
    const n = checkNumber(v, key);
    if (n < 0) throw new RangeError(`gradclip: GradientMonitor: ${key} is a norm and must be >= 0 (or NaN/Infinity); got ${n}.`);
    out[name] = n;
  }
  return out;
}
