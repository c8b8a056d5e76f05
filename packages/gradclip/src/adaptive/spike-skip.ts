/**
 * Spike-aware step skipping: decide, from this step's loss and pre-clip
 * gradient norm, whether the optimizer step should be skipped because one of
 * them is a statistical spike, after OLMo-core's skip-step optimizer
 * (`src/olmo_core/optim/skip_step_optimizer.py`, allenai/OLMo-core: loss or
 * grad norm more than 6 standard deviations above the mean of the last 128
 * steps), with Optax's `apply_if_finite` limit on consecutive skips
 * (`optax/transforms/_conditionality.py`: after `max_consecutive_errors`
 * rejected updates in a row the next one is accepted).
 */
import { describeValue } from "../core/describe.js";
import { readArray, readFields, readOptions } from "../core/options.js";
import { checkInteger, checkIntegerOrInfinity, checkNorm, checkPositive } from "../core/validate.js";
import { meanAndSquaredDeviations } from "./moments.js";
import { checkObject } from "./options.js";

/**
 * A signal the spike test watches: the step's loss, or its pre-clip total
 * gradient norm.
 *
 * @example
 * ```ts
 * import { spikeSkipRule, type SpikeSignal } from "gradclip";
 *
 * const signals: SpikeSignal[] = ["gradNorm"];
 * const rule = spikeSkipRule({ signals });
 * console.log(rule.update(rule.init(), { loss: NaN, gradNorm: 1 }).skip); // the loss is not watched
 * ```
 * ```text
 * false
 * ```
 */
export type SpikeSignal = "loss" | "gradNorm";

const SIGNALS: readonly SpikeSignal[] = ["loss", "gradNorm"];

/**
 * Options of `spikeSkipRule` and of the tfjs wrapper's `skipSpikes`
 * (defaults: OLMo-core's `SkipStepOptimizer`). Unknown keys are a
 * `TypeError` with a "did you mean" hint.
 *
 * @example
 * ```ts
 * import { spikeSkipRule, type SpikeSkipOptions } from "gradclip";
 *
 * const options: SpikeSkipOptions = { window: 32, threshold: 4, signals: ["loss"] };
 * console.log(spikeSkipRule(options).options);
 * ```
 * ```text
 * {
 *   window: 32,
 *   threshold: 4,
 *   minSteps: 15,
 *   signals: [ 'loss' ],
 *   maxConsecutive: 4
 * }
 * ```
 */
export interface SpikeSkipOptions {
  /** How many accepted steps the mean and standard deviation are taken over (OLMo-core's `rolling_interval_length`), integer >= 2. Default 128. */
  window?: number;
  /** How many standard deviations above the mean a value must be to be a spike (OLMo-core's `sigma_factor`), > 0. Default 6. */
  threshold?: number;
  /**
   * Accepted values the window must hold before any step is judged, integer
   * in [2, window]. Default `max(2, floor(window / 2) - 1)`: 63 for the
   * default window, since OLMo-core judges a step once its history, that
   * step included, holds `max(2, rolling_interval_length // 2)` values.
   */
  minSteps?: number;
  /** Which signals are watched: a non-empty list of `"loss"` and `"gradNorm"`. Default both (OLMo-core). */
  signals?: readonly SpikeSignal[];
  /**
   * After this many skipped steps in a row, the next spike is taken (Optax's
   * `max_consecutive_errors`): a level shift that lasts is a new plateau,
   * not a spike. Integer >= 0 (0: spikes are reported, never skipped) or
   * Infinity. Default 4, the number of steps OLMo-core's rule skips on a
   * clean level shift of a full window (see `spikeSkipRule`).
   */
  maxConsecutive?: number;
}

/** The option keys of `spikeSkipRule` (the tfjs `skipSpikes` option takes the same). */
export const SPIKE_SKIP_KEYS: readonly (keyof SpikeSkipOptions)[] = [
  "window",
  "threshold",
  "minSteps",
  "signals",
  "maxConsecutive",
];

/**
 * One skipped step's values, kept in `SpikeSkipState.pending` until the run
 * of skips ends (`null`: not given, or not finite).
 *
 * @example
 * ```ts
 * import { spikeSkipRule, type SpikeSkipPending } from "gradclip";
 *
 * const rule = spikeSkipRule();
 * const pending: SpikeSkipPending[] = rule.update(rule.init(), { loss: Infinity, gradNorm: 2 }).state.pending;
 * console.log(pending);
 * ```
 * ```text
 * [ { loss: null, gradNorm: 2 } ]
 * ```
 */
export interface SpikeSkipPending {
  /** The skipped step's loss, or null. */
  loss: number | null;
  /** The skipped step's pre-clip gradient norm, or null. */
  gradNorm: number | null;
}

/**
 * The rule's state, JSON-serialisable: the accepted values of each signal,
 * oldest first, at most `window` of each; the number of steps skipped in a
 * row; and the values of those skipped steps (the last `window` of them),
 * which enter the windows if the run ends in a forced step.
 *
 * @example
 * ```ts
 * import { spikeSkipRule, type SpikeSkipState } from "gradclip";
 *
 * const rule = spikeSkipRule();
 * let state: SpikeSkipState = rule.init();
 * state = rule.update(state, { loss: 2.5, gradNorm: 1 }).state;
 * console.log(JSON.stringify(state));
 * ```
 * ```text
 * {"loss":[2.5],"gradNorm":[1],"consecutive":0,"pending":[]}
 * ```
 */
export interface SpikeSkipState {
  /** The accepted steps' losses, oldest first (at most `window`). */
  loss: number[];
  /** The accepted steps' pre-clip gradient norms, oldest first (at most `window`). */
  gradNorm: number[];
  /** Steps skipped in a row so far. */
  consecutive: number;
  /** The values of those skipped steps (the last `window` of them). */
  pending: SpikeSkipPending[];
}

/**
 * One step's signals for `SpikeSkipRule.update`. A signal left out (or not
 * watched) is not judged this step and not recorded.
 *
 * @example
 * ```ts
 * import { spikeSkipRule, type SpikeSkipInput } from "gradclip";
 *
 * const input: SpikeSkipInput = { gradNorm: NaN }; // no loss this step
 * const rule = spikeSkipRule();
 * console.log(rule.update(rule.init(), input).spikes);
 * ```
 * ```text
 * [ 'gradNorm' ]
 * ```
 */
export interface SpikeSkipInput {
  /** The step's loss: any number (NaN and ±Infinity are spikes). */
  loss?: number;
  /** The step's pre-clip total gradient norm: a number >= 0 (NaN and Infinity are spikes). */
  gradNorm?: number;
}

/**
 * What `SpikeSkipRule.update` decided for one step.
 *
 * @example
 * ```ts
 * import { spikeSkipRule, type SpikeSkipUpdate } from "gradclip";
 *
 * const rule = spikeSkipRule();
 * const update: SpikeSkipUpdate = rule.update(rule.init(), { loss: 1, gradNorm: 1 });
 * console.log(update.skip, update.spikes, update.forced);
 * ```
 * ```text
 * false [] false
 * ```
 */
export interface SpikeSkipUpdate {
  /** Skip this optimizer step (apply nothing: no weight, slot or iteration change). */
  skip: boolean;
  /** The signals that were spikes this step, in `signals` order (empty: none). Non-empty whenever `skip` is. */
  spikes: SpikeSignal[];
  /** A spike taken anyway because `maxConsecutive` steps in a row had been skipped. */
  forced: boolean;
  /** The state for the next step (a new object; the input state is not modified). */
  state: SpikeSkipState;
}

/**
 * The spike-skip rule (see `spikeSkipRule`): `init`, `update`, and
 * `parseState` for saved states.
 *
 * @example
 * ```ts
 * import { spikeSkipRule, type SpikeSkipRule } from "gradclip";
 *
 * const rule: SpikeSkipRule = spikeSkipRule({ window: 8 });
 * const resumed = rule.parseState(JSON.parse(JSON.stringify(rule.init())));
 * console.log(resumed.consecutive, rule.options.minSteps);
 * ```
 * ```text
 * 0 3
 * ```
 */
export interface SpikeSkipRule {
  /** The validated options, defaults filled in. */
  readonly options: Readonly<Required<Omit<SpikeSkipOptions, "signals">>> & {
    /** The watched signals, in the order `"loss"`, `"gradNorm"`. */
    readonly signals: readonly SpikeSignal[];
  };
  /** The state before the first step: empty windows. */
  init(): SpikeSkipState;
  /**
   * This step's decision and the next state (a new object; `state` is
   * checked, not modified). Throws TypeError / RangeError for a malformed
   * state or a signal value that is not a number (or a negative norm).
   */
  update(state: SpikeSkipState, input: SpikeSkipInput): SpikeSkipUpdate;
  /** A checked copy of a saved state (e.g. from `JSON.parse`); longer windows keep their last `window` values. */
  parseState(value: unknown): SpikeSkipState;
}

interface Resolved {
  window: number;
  threshold: number;
  minSteps: number;
  signals: readonly SpikeSignal[];
  maxConsecutive: number;
}

function resolve(options: SpikeSkipOptions | undefined, fnName: string): Resolved {
  const o = readOptions(options, fnName, SPIKE_SKIP_KEYS);
  const window = checkInteger(o.window, `${fnName}: window`, 2, 128);
  const threshold = checkPositive(o.threshold, `${fnName}: threshold`, 6);
  const minSteps = checkInteger(o.minSteps, `${fnName}: minSteps`, 2, Math.max(2, Math.floor(window / 2) - 1));
  if (minSteps > window) {
    throw new RangeError(
      `gradclip: ${fnName}: minSteps must be at most window (${window}): the window never holds more; got ${minSteps}.`,
    );
  }
  let signals: SpikeSignal[] = [...SIGNALS];
  if (o.signals !== undefined) {
    const given = readArray(o.signals, `${fnName}: signals`, 'a non-empty array of "loss" and "gradNorm"');
    if (given.length === 0)
      throw new RangeError(`gradclip: ${fnName}: signals must name at least one of "loss" and "gradNorm"; got [].`);
    for (const s of given) {
      if (s !== "loss" && s !== "gradNorm") {
        throw new RangeError(
          `gradclip: ${fnName}: signals must hold only "loss" and "gradNorm"; got ${describeValue(s)}.`,
        );
      }
    }
    if (new Set(given).size !== given.length)
      throw new RangeError(`gradclip: ${fnName}: signals names a signal twice; list each once.`);
    signals = SIGNALS.filter((s) => given.includes(s));
  }
  const maxConsecutive = checkIntegerOrInfinity(o.maxConsecutive, `${fnName}: maxConsecutive`, 0, 4);
  return { window, threshold, minSteps, signals, maxConsecutive };
}

/**
 * The spike-skip rule, pure, with explicit JSON state (optax's init/update
 * style), for the tfjs wrapper's `skipSpikes` option or a custom loop.
 *
 * `update(state, { loss, gradNorm })`, for each watched signal with value x
 * and window W (its last `window` accepted values):
 * - x not finite (NaN, ±Infinity): a spike, at any step;
 * - W holds fewer than `minSteps` values: not a spike;
 * - otherwise, with `mean` and `std` of W (sample standard deviation,
 *   divided by `|W| - 1`, as `torch.std_mean`): a spike when
 *   `x - mean > threshold · std` (OLMo-core's `get_step_factor` accepts
 *   `x - mean <= sigma_factor · std`). A constant window (std 0) makes any
 *   value above its mean a spike.
 *
 * Then:
 * - no spike: the step is taken and its finite values enter the windows
 *   (the oldest drop out past `window`); the values of any steps skipped just
 *   before are discarded (they were spikes);
 * - a spike, fewer than `maxConsecutive` skipped in a row so far: `skip`,
 *   and the step's values wait in `pending`;
 * - a spike after `maxConsecutive` skips in a row: taken anyway (`forced`),
 *   and the run's values and this step's enter the windows, so the new level
 *   becomes the baseline.
 *
 * Differences from OLMo-core, deliberate: its window holds every step's
 * values, skipped ones included, so one large spike inflates the standard
 * deviation for the next 128 steps and can hide the spikes after it; here
 * only accepted steps count, and a lasting level shift is absorbed through
 * `maxConsecutive` instead. Its default 4 is what OLMo-core's own window
 * does on a clean level shift: with a full window, the shifted value passes
 * once 4 of the 128 values are at the new level (z ≈ sqrt(124/4) < 6 < sqrt(125/3)),
 * so OLMo-core skips 4 steps and takes the 5th; so does this rule, whose
 * window then holds 5 new values. OLMo-core also takes a NaN step before its
 * window is warm and puts the NaN in its history (every later comparison is
 * then false: all skipped); here a non-finite value is a spike from the
 * first step and never enters a window.
 *
 * Host reads: none of its own; it needs the loss and the norm as numbers.
 *
 * @param options See `SpikeSkipOptions`.
 * @returns The rule; `update` neither modifies its input state nor keeps it.
 * @throws TypeError / RangeError for bad or unknown options, and from
 *   `update` for a malformed state, or a signal value that is not a number
 *   (or a negative norm).
 * @example
 * ```ts
 * import { spikeSkipRule } from "gradclip";
 *
 * const rule = spikeSkipRule({ window: 8, minSteps: 4, threshold: 3 });
 * let state = rule.init();
 * const losses = [2.0, 2.1, 1.9, 2.0, 2.05, 9.0, 1.95];
 * for (const loss of losses) {
 *   // in a training loop: this step's loss and pre-clip norm, as numbers
 *   const { skip, spikes, state: next } = rule.update(state, { loss, gradNorm: 1 });
 *   state = next;
 *   if (skip) console.log("skipped the step with loss", loss, spikes);
 * }
 * console.log(state.loss);
 * ```
 * ```text
 * skipped the step with loss 9 [ 'loss' ]
 * [ 2, 2.1, 1.9, 2, 2.05, 1.95 ]
 * ```
 */
export function spikeSkipRule(options?: SpikeSkipOptions): SpikeSkipRule {
  const r = resolve(options, "spikeSkipRule");
  const parse = (value: unknown, what: string) => parseState(value, r, what);
  return {
    options: Object.freeze({ ...r, signals: Object.freeze([...r.signals]) }),
    init: () => ({ loss: [], gradNorm: [], consecutive: 0, pending: [] }),
    parseState: (value) => parse(value, "spike-skip state"),
    update(state, input) {
      const s = parse(state, "spikeSkipRule.update: state");
      const values = readInput(input, r.signals);
      const spikes = r.signals.filter((sig) => values[sig] !== undefined && isSpike(values[sig]!, s[sig], r));
      const finite: SpikeSkipPending = {
        loss: finiteOrNull(values.loss),
        gradNorm: finiteOrNull(values.gradNorm),
      };
      if (spikes.length > 0 && s.consecutive < r.maxConsecutive) {
        const pending = [...s.pending, finite];
        if (pending.length > r.window) pending.splice(0, pending.length - r.window);
        return { skip: true, spikes, forced: false, state: { ...s, consecutive: s.consecutive + 1, pending } };
      }
      const forced = spikes.length > 0;
      const admitted = forced ? [...s.pending, finite] : [finite];
      const next: SpikeSkipState = { loss: s.loss, gradNorm: s.gradNorm, consecutive: 0, pending: [] };
      for (const sig of SIGNALS) {
        const w = [...s[sig]];
        for (const p of admitted) if (p[sig] !== null) w.push(p[sig]!);
        if (w.length > r.window) w.splice(0, w.length - r.window);
        next[sig] = w;
      }
      return { skip: false, spikes, forced, state: next };
    },
  };
}

function isSpike(x: number, window: readonly number[], r: Resolved): boolean {
  if (!Number.isFinite(x)) return true;
  if (window.length < r.minSteps) return false;
  // The sample standard deviation (Bessel's correction, as `torch.std_mean`).
  const { mean, squaredDeviations } = meanAndSquaredDeviations(window);
  return x - mean > r.threshold * Math.sqrt(squaredDeviations / (window.length - 1));
}

function finiteOrNull(x: number | undefined): number | null {
  return x !== undefined && Number.isFinite(x) ? x : null;
}

function readInput(input: unknown, signals: readonly SpikeSignal[]): Partial<Record<SpikeSignal, number>> {
  const o = readOptions(input as SpikeSkipInput | undefined, "spikeSkipRule.update: input", ["loss", "gradNorm"]);
  const out: Partial<Record<SpikeSignal, number>> = {};
  if (o.loss !== undefined && signals.includes("loss")) {
    if (typeof o.loss !== "number")
      throw new TypeError(`gradclip: spikeSkipRule.update: input.loss must be a number; got ${describeValue(o.loss)}.`);
    out.loss = o.loss;
  }
  if (o.gradNorm !== undefined && signals.includes("gradNorm"))
    out.gradNorm = checkNorm(o.gradNorm, "spikeSkipRule.update: input.gradNorm");
  return out;
}

/** A copy of the finite numbers in `value` (a saved window), the last `window` kept. */
function readWindow(value: unknown, what: string, nonNegative: boolean, window: number): number[] {
  const xs = readArray(value, what, `an array of finite numbers${nonNegative ? " >= 0" : ""}`);
  xs.forEach((x, i) => {
    if (typeof x !== "number" || !Number.isFinite(x) || (nonNegative && x < 0)) {
      throw new RangeError(
        `gradclip: ${what}[${i}] must be a finite number${nonNegative ? " >= 0" : ""}; got ${describeValue(x)}.`,
      );
    }
  });
  return (xs as number[]).slice(Math.max(0, xs.length - window));
}

function parseState(value: unknown, r: Resolved, what: string): SpikeSkipState {
  const o = readFields(checkObject(value, what), what, ["loss", "gradNorm", "consecutive", "pending"]);
  const loss = readWindow(o.loss, `${what}.loss`, false, r.window);
  const gradNorm = readWindow(o.gradNorm, `${what}.gradNorm`, true, r.window);
  if (o.consecutive === undefined)
    throw new TypeError(`gradclip: ${what}.consecutive must be an integer >= 0; got undefined.`);
  const consecutive = checkInteger(o.consecutive, `${what}.consecutive`, 0, 0);
  const pending = readArray(o.pending, `${what}.pending`, "an array of { loss, gradNorm }").map((p, i) => {
    const where = `${what}.pending[${i}]`;
    const f = readFields(checkObject(p, where), where, ["loss", "gradNorm"]);
    const entry: SpikeSkipPending = { loss: null, gradNorm: null };
    for (const sig of SIGNALS) {
      const x = f[sig];
      if (x === null) continue;
      if (typeof x !== "number" || !Number.isFinite(x) || (sig === "gradNorm" && x < 0)) {
        throw new RangeError(
          `gradclip: ${where}.${sig} must be null or a finite number${sig === "gradNorm" ? " >= 0" : ""}; got ${describeValue(x)}.`,
        );
      }
      entry[sig] = x;
    }
    return entry;
  });
  if (pending.length > Math.min(consecutive, r.window)) {
    throw new RangeError(
      `gradclip: ${what}.pending holds ${pending.length} steps but consecutive is ${consecutive} (window ${r.window}); it holds at most the last min(consecutive, window) skipped steps.`,
    );
  }
  return { loss, gradNorm, consecutive, pending };
}
