import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  spikeSkipRule,
  type SpikeSkipInput,
  type SpikeSkipOptions,
  type SpikeSkipState,
} from "../../src/adaptive/spike-skip.js";

interface Case {
  name: string;
  options: Omit<SpikeSkipOptions, "maxConsecutive"> & { maxConsecutive?: number | "Infinity" };
  steps: { loss: number | string; gradNorm: number | string }[];
  decisions: [boolean, ("loss" | "gradNorm")[], boolean][];
  final: SpikeSkipState;
  olmo?: number[];
}

/** fixtures/spike-skip.json, from gen_spike_skip.py: OLMo-core's rule (torch) and the documented rule (numpy). */
const fixture: { cases: Case[] } = JSON.parse(
  readFileSync(new URL("./fixtures/spike-skip.json", import.meta.url), "utf8"),
);

const num = (x: number | string) =>
  typeof x === "number" ? x : Number(x.replace("inf", "Infinity").replace("nan", "NaN"));

function optionsOf(c: Case): SpikeSkipOptions {
  const { maxConsecutive, ...rest } = c.options;
  return maxConsecutive === undefined
    ? rest
    : { ...rest, maxConsecutive: maxConsecutive === "Infinity" ? Infinity : maxConsecutive };
}

function run(options: SpikeSkipOptions, steps: SpikeSkipInput[], from?: SpikeSkipState) {
  const rule = spikeSkipRule(options);
  let state = from ?? rule.init();
  const decisions = steps.map((s) => {
    const r = rule.update(state, s);
    state = r.state;
    return [r.skip, r.spikes, r.forced] as [boolean, ("loss" | "gradNorm")[], boolean];
  });
  return { decisions, state };
}

const stepsOf = (c: Case): SpikeSkipInput[] => c.steps.map((s) => ({ loss: num(s.loss), gradNorm: num(s.gradNorm) }));

test("spikeSkipRule equals the numpy transcription of its documented rule on every fixture case (decisions and final state)", () => {
  assert.equal(fixture.cases.length, 8);
  for (const c of fixture.cases) {
    const got = run(optionsOf(c), stepsOf(c));
    assert.deepEqual(got.decisions, c.decisions, c.name);
    assert.deepEqual(got.state, c.final, c.name);
    assert.ok(
      c.decisions.some((d) => d[0] || d[2]),
      `${c.name}: the case exercises a spike`,
    );
  }
});

test("OLMo-core agreement: the same decisions up to and including the first skip; the same 4 skips on a clean level shift", () => {
  for (const c of fixture.cases.filter((x) => x.olmo)) {
    const ours = run(optionsOf(c), stepsOf(c)).decisions.map((d) => (d[0] ? 0 : 1));
    const first = c.olmo!.indexOf(0);
    assert.ok(first > 64, `${c.name}: OLMo-core skips after its window is warm`);
    assert.deepEqual(ours.slice(0, first + 1), c.olmo!.slice(0, first + 1), c.name);
  }
  const shift = fixture.cases.find((x) => x.name === "level shift, defaults")!;
  const ours = run({}, stepsOf(shift)).decisions;
  assert.deepEqual(
    ours.map((d) => (d[0] ? 0 : 1)),
    shift.olmo,
    "ours skips exactly what OLMo-core skips",
  );
  assert.deepEqual(
    ours.slice(128, 133).map((d) => [d[0], d[2]]),
    [
      [true, false],
      [true, false],
      [true, false],
      [true, false],
      [false, true],
    ],
  );
  assert.ok(
    ours.slice(133).every((d) => !d[0] && d[1].length === 0),
    "after the forced step the new level is the baseline",
  );
  // Where they differ, by design: OLMo-core's window keeps the first spike and misses the second.
  const masked = fixture.cases.find((x) => x.name === "masked second spike")!;
  assert.equal(masked.olmo![160], 1);
  assert.deepEqual(run({}, stepsOf(masked)).decisions[160], [true, ["loss"], false]);
});

test("defaults are OLMo-core's: 6 sigma over 128 steps, judged from the 64th step, both signals; at most 4 skips in a row", () => {
  const rule = spikeSkipRule();
  assert.deepEqual(
    { ...rule.options, signals: [...rule.options.signals] },
    {
      window: 128,
      threshold: 6,
      minSteps: 63,
      signals: ["loss", "gradNorm"],
      maxConsecutive: 4,
    },
  );
  // Not judged before 63 accepted values, judged from the 64th step on.
  let s = rule.init();
  for (let i = 0; i < 62; i++) s = rule.update(s, { loss: 1 + (i % 2) * 0.01, gradNorm: 1 }).state;
  assert.equal(rule.update(s, { loss: 1e6, gradNorm: 1 }).skip, false, "62 values: not judged");
  s = rule.update(s, { loss: 1, gradNorm: 1 }).state;
  assert.deepEqual(rule.update(s, { loss: 1e6, gradNorm: 1 }).spikes, ["loss"], "63 values: judged");
  assert.equal(spikeSkipRule({ window: 10 }).options.minSteps, 4);
  assert.equal(spikeSkipRule({ window: 2 }).options.minSteps, 2);
});

test("the threshold is sample-std based and strict: mean + threshold·std passes, above it skips; a constant window skips anything above its mean", () => {
  const rule = spikeSkipRule({ window: 4, minSteps: 4, threshold: 2, signals: ["gradNorm"] });
  let s = rule.init();
  for (const g of [1, 2, 3, 4]) s = rule.update(s, { gradNorm: g }).state;
  const std = Math.sqrt((2.25 + 0.25 + 0.25 + 2.25) / 3);
  assert.equal(rule.update(s, { gradNorm: 2.5 + 2 * std }).skip, false);
  assert.equal(rule.update(s, { gradNorm: 2.5 + 2 * std + 1e-9 }).skip, true);
  let c = rule.init();
  for (let i = 0; i < 4; i++) c = rule.update(c, { gradNorm: 3 }).state;
  assert.equal(rule.update(c, { gradNorm: 3 }).skip, false);
  assert.equal(rule.update(c, { gradNorm: 3.0000001 }).skip, true);
  // Negative losses are fine: only the distance above the mean matters.
  const l = spikeSkipRule({ window: 3, minSteps: 3, signals: ["loss"] });
  let t = l.init();
  for (const x of [-5, -5.1, -4.9]) t = l.update(t, { loss: x }).state;
  assert.equal(l.update(t, { loss: -4 }).skip, true);
  assert.equal(l.update(t, { loss: -100 }).skip, false);
});

test("a skipped step leaves the windows as they were; the input state is never modified", () => {
  const rule = spikeSkipRule({ window: 4, minSteps: 3, maxConsecutive: 2 });
  let s = rule.init();
  for (const x of [1, 1.1, 0.9]) s = rule.update(s, { loss: x, gradNorm: x }).state;
  const frozen = structuredClone(s);
  const r = rule.update(s, { loss: 50, gradNorm: 1 });
  assert.deepEqual(s, frozen);
  assert.deepEqual(r, {
    skip: true,
    spikes: ["loss"],
    forced: false,
    state: { loss: [1, 1.1, 0.9], gradNorm: [1, 1.1, 0.9], consecutive: 1, pending: [{ loss: 50, gradNorm: 1 }] },
  });
  // An ordinary step ends the run: the pending values are dropped, its own enter.
  assert.deepEqual(rule.update(r.state, { loss: 1, gradNorm: 1 }).state, {
    loss: [1, 1.1, 0.9, 1],
    gradNorm: [1, 1.1, 0.9, 1],
    consecutive: 0,
    pending: [],
  });
});

test("a signal not given (or not watched) is neither judged nor recorded; missing both takes the step", () => {
  const rule = spikeSkipRule({ window: 4, minSteps: 2, signals: ["gradNorm"] });
  let s = rule.init();
  s = rule.update(s, { gradNorm: 1, loss: 1e9 }).state;
  s = rule.update(s, { gradNorm: 1.1 }).state;
  assert.deepEqual(s.loss, []);
  assert.deepEqual(rule.update(s, {}), { skip: false, spikes: [], forced: false, state: s });
  assert.equal(rule.update(s, { loss: NaN, gradNorm: 1 }).skip, false, "loss is not watched");
});

test("state round trip through JSON at every step gives the same decisions as one run", () => {
  for (const c of fixture.cases) {
    const options = optionsOf(c);
    const steps = stepsOf(c);
    const full = run(options, steps).decisions;
    const rule = spikeSkipRule(options);
    let state = rule.init();
    const stepwise = steps.map((step) => {
      const r = rule.update(rule.parseState(JSON.parse(JSON.stringify(state))), step);
      state = r.state;
      return [r.skip, r.spikes, r.forced];
    });
    assert.deepEqual(stepwise, full, c.name);
  }
});

test("parseState checks saved states and keeps the last window values", () => {
  const rule = spikeSkipRule({ window: 3 });
  assert.deepEqual(rule.parseState({ loss: [1, 2, 3, 4], gradNorm: [], consecutive: 0, pending: [] }).loss, [2, 3, 4]);
  const bad: [unknown, RegExp][] = [
    [null, /spike-skip state must be a plain object/],
    [{ loss: [NaN], gradNorm: [], consecutive: 0, pending: [] }, /state\.loss\[0\] must be a finite number/],
    [{ loss: [], gradNorm: [-1], consecutive: 0, pending: [] }, /state\.gradNorm\[0\] must be a finite number >= 0/],
    [{ loss: [], gradNorm: [], pending: [] }, /consecutive must be an integer >= 0; got undefined/],
    [{ loss: [], gradNorm: [], consecutive: 1.5, pending: [] }, /consecutive must be an integer/],
    [
      { loss: [], gradNorm: [], consecutive: 0, pending: [{ loss: 1, gradNorm: null }] },
      /pending holds 1 steps but consecutive is 0/,
    ],
    [
      { loss: [], gradNorm: [], consecutive: 1, pending: [{ loss: "1", gradNorm: null }] },
      /pending\[0\]\.loss must be null or a finite number/,
    ],
  ];
  for (const [value, re] of bad) assert.throws(() => rule.parseState(value), re);
  assert.throws(
    () => rule.update({ loss: [], gradNorm: [] } as never, { loss: 1 }),
    /spikeSkipRule\.update: state\.consecutive/,
  );
});

test("options and inputs are validated with clear errors naming the function", () => {
  const cases: [SpikeSkipOptions, RegExp][] = [
    [{ window: 1 }, /spikeSkipRule: window must be an integer >= 2/],
    [{ threshold: 0 }, /spikeSkipRule: threshold must be a finite number > 0/],
    [{ minSteps: 1 }, /minSteps must be an integer >= 2/],
    [{ window: 8, minSteps: 9 }, /minSteps must be at most window \(8\)/],
    [{ signals: [] }, /signals must name at least one/],
    [{ signals: ["loss", "grad_norm" as never] }, /signals must hold only "loss" and "gradNorm"; got "grad_norm"/],
    [{ signals: ["loss", "loss"] }, /names a signal twice/],
    [{ maxConsecutive: -1 }, /maxConsecutive must be an integer >= 0/],
  ];
  for (const [o, re] of cases) assert.throws(() => spikeSkipRule(o), re);
  assert.throws(() => spikeSkipRule({ sigmaFactor: 6 } as never), /unknown option "sigmaFactor"/);
  assert.throws(() => spikeSkipRule({ max_consecutive: 3 } as never), /did you mean maxConsecutive\?/);
  const rule = spikeSkipRule();
  assert.throws(() => rule.update(rule.init(), { loss: "1" as never }), /input\.loss must be a number/);
  assert.throws(() => rule.update(rule.init(), { gradNorm: -1 }), /input\.gradNorm is a norm and must be >= 0/);
  assert.throws(() => rule.update(rule.init(), { lr: 1 } as never), /unknown option "lr"/);
  assert.equal(spikeSkipRule({ maxConsecutive: Infinity }).options.maxConsecutive, Infinity);
});
