/**
 * The one options checker (src/core/options.ts), and that every options
 * object of the core, the adaptive clippers, the monitor and GradBuffer goes
 * through it: unknown keys with a "did you mean" hint that catches real
 * typos, non-plain objects refused, getters read once (their errors typed),
 * `Object.prototype` pollution ignored; every message names the function.
 * Public API only, so each case also runs against the code before the fix.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AGC,
  AutoClip,
  autoClipRule,
  clipGradNorm_,
  getTotalNorm,
  GradBuffer,
  GradientMonitor,
  parseAutoClipState,
  parseZClipState,
  ZClip,
  zClipRule,
} from "../../src/index.js";

/** Builds the object under test with the given options. */
type Make = (options: unknown) => unknown;

const MAKERS: Record<string, Make> = {
  AutoClip: (o) => new AutoClip(o as never),
  ZClip: (o) => new ZClip(o as never),
  AGC: (o) => new AGC(o as never),
  autoClipRule: (o) => autoClipRule(o as never),
  zClipRule: (o) => zClipRule(o as never),
  parseAutoClipState: (o) => parseAutoClipState({ norms: [] }, o as never),
  parseZClipState: (o) => parseZClipState({ warmup: [], mean: null, variance: null }, o as never),
  GradientMonitor: (o) => new GradientMonitor(o as never),
  "GradientMonitor.fromHistory": (o) => GradientMonitor.fromHistory(new GradientMonitor().toJSON(), o as never),
  GradBuffer: (o) => new GradBuffer([2], o as never),
  getTotalNorm: (o) => getTotalNorm(Float32Array.of(1), o as never),
  clipGradNorm_: (o) => clipGradNorm_(Float32Array.of(1), 1, o as never),
};

/** [function, misspelt key, the key it should suggest] — real typos, not only case and underscores. */
const TYPOS: [string, string, string][] = [
  ["AutoClip", "historysize", "historySize"],
  ["AutoClip", "percentil", "percentile"],
  ["AutoClip", "histroySize", "historySize"],
  ["AutoClip", "norm_type", "normType"],
  ["ZClip", "zthreshold", "zThreshold"],
  ["ZClip", "warmup_steps", "warmupSteps"],
  ["ZClip", "maxnorm", "maxNorm"],
  ["ZClip", "aplha", "alpha"],
  ["AGC", "clippng", "clipping"],
  ["AGC", "unit_axis", "unitAxis"],
  ["AGC", "exlude", "exclude"],
  ["autoClipRule", "percentle", "percentile"],
  ["zClipRule", "warmupStep", "warmupSteps"],
  ["parseAutoClipState", "history_size", "historySize"],
  ["parseZClipState", "warmupsteps", "warmupSteps"],
  ["GradientMonitor", "windw", "window"],
  ["GradientMonitor", "quantile", "quantiles"],
  ["GradientMonitor", "capcity", "capacity"],
  ["GradientMonitor.fromHistory", "capactiy", "capacity"],
  ["GradBuffer", "dtpye", "dtype"],
  ["GradBuffer", "d_type", "dtype"],
  ["getTotalNorm", "normTpye", "normType"],
  ["clipGradNorm_", "errorIfNonFinite", "errorIfNonfinite"],
  ["clipGradNorm_", "error_if_nonfinite", "errorIfNonfinite"],
];

describe("every options object rejects a misspelt key with a did-you-mean hint naming the function", () => {
  for (const [fnName, typo, meant] of TYPOS) {
    test(`${fnName}({ ${typo} }) suggests ${meant}`, () => {
      assert.throws(
        () => MAKERS[fnName]!({ [typo]: 1 }),
        (e: unknown) => {
          assert.ok(e instanceof TypeError, `a TypeError, got ${String(e)}`);
          const escaped = fnName.replace(/[.]/g, "\\.");
          assert.match(
            e.message,
            new RegExp(
              `^gradclip: ${escaped}: unknown option "${typo}" \\(did you mean ${meant}\\?\\); known options: `,
            ),
          );
          return true;
        },
      );
    });
  }
  test("a key far from every known one gets no hint, and the known keys are listed", () => {
    assert.throws(
      () => new AutoClip({ learningRate: 1 } as never),
      (e: unknown) => {
        assert.ok(e instanceof TypeError);
        assert.match(
          e.message,
          /^gradclip: AutoClip: unknown option "learningRate"; known options: percentile, historySize, normType, errorIfNonfinite\.$/,
        );
        return true;
      },
    );
  });
  test("GradBuffer { dtpye: 'float64' } throws instead of silently allocating float32", () => {
    assert.throws(
      () => new GradBuffer([4], { dtpye: "float64" } as never),
      /GradBuffer: unknown option "dtpye" \(did you mean dtype\?\)/,
    );
  });
  test("GradientMonitor.fromHistory refuses window (it comes from the history)", () => {
    assert.throws(
      () => GradientMonitor.fromHistory(new GradientMonitor().toJSON(), { window: 5 } as never),
      /fromHistory: unknown option "window"/,
    );
  });
});

describe("options must be plain objects", () => {
  class Config {
    percentile = 50;
  }
  const NOT_PLAIN: [string, unknown][] = [
    ["an array", [1]],
    ["a Map", new Map([["percentile", 50]])],
    ["a class instance", new Config()],
    ["a Date", new Date(0)],
    ["a Float32Array", new Float32Array(1)],
    ["a function", () => 1],
    ["an object inheriting options", Object.create({ percentile: 50 })],
  ];
  for (const fnName of Object.keys(MAKERS)) {
    for (const [what, value] of NOT_PLAIN) {
      test(`${fnName}: ${what} is a TypeError naming the function`, () => {
        assert.throws(
          () => MAKERS[fnName]!(value),
          (e: unknown) => {
            assert.ok(e instanceof TypeError, `a TypeError, got ${String(e)}`);
            assert.ok(e.message.startsWith(`gradclip: ${fnName} options must be a`), e.message);
            return true;
          },
        );
      });
    }
  }
  test("Object.create(null) and frozen objects are accepted", () => {
    const o = Object.create(null) as { percentile: number };
    o.percentile = 50;
    assert.equal(new AutoClip(o).clip_([Float32Array.of(3, 4)]).maxNorm, 5);
    assert.equal(new AutoClip(Object.freeze({ percentile: 50 })).clip_([Float32Array.of(3, 4)]).maxNorm, 5);
    assert.equal(getTotalNorm(Float32Array.of(3, 4), Object.freeze({ normType: 1 })), 7);
  });
});

describe("options are read once; their getters' errors are typed; Object.prototype is ignored", () => {
  test("a getter that throws is a TypeError naming the function and the option, with the error as cause", () => {
    const boom = new Error("boom");
    const cases: [string, unknown][] = [
      [
        "AutoClip",
        {
          get percentile() {
            throw boom;
          },
        },
      ],
      [
        "ZClip",
        {
          get alpha() {
            throw boom;
          },
        },
      ],
      [
        "AGC",
        {
          get clipping() {
            throw boom;
          },
        },
      ],
      [
        "GradientMonitor",
        {
          get window() {
            throw boom;
          },
        },
      ],
      [
        "GradBuffer",
        {
          get dtype() {
            throw boom;
          },
        },
      ],
      [
        "clipGradNorm_",
        {
          get normType() {
            throw boom;
          },
        },
      ],
    ];
    for (const [fnName, options] of cases) {
      assert.throws(
        () => MAKERS[fnName]!(options),
        (e: unknown) => {
          assert.ok(e instanceof TypeError, `${fnName}: a TypeError, got ${String(e)}`);
          assert.match(e.message, new RegExp(`^gradclip: ${fnName}: reading option \\w+ threw: boom`));
          assert.equal(e.cause, boom);
          return true;
        },
      );
    }
  });
  test("a getter runs once: a value that changes between reads cannot slip past the check", () => {
    let reads = 0;
    const options = {
      get normType() {
        reads++;
        return reads === 1 ? 1 : -1; // valid when checked, invalid if read again
      },
    };
    const g = Float32Array.of(3, -4);
    assert.equal(clipGradNorm_(g, 100, options), 7);
    assert.equal(reads, 1);
    let percentileReads = 0;
    const clipper = new AutoClip({
      get percentile() {
        percentileReads++;
        return 50;
      },
    });
    clipper.clip_([Float32Array.of(1)]);
    assert.equal(percentileReads, 1);
  });
  test("a Proxy whose ownKeys trap throws is a TypeError naming the function", () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("no keys");
        },
      },
    );
    assert.throws(
      () => new ZClip(hostile as never),
      (e: unknown) =>
        e instanceof TypeError && /^gradclip: ZClip options: listing its keys threw: no keys/.test(e.message),
    );
  });
  test("a polluted Object.prototype does not set options", () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.normType = -1;
    proto.percentile = 1000;
    proto.dtype = "float64";
    try {
      assert.equal(getTotalNorm(Float32Array.of(3, 4), {}), 5);
      assert.equal(new AutoClip({}).clip_([Float32Array.of(3, 4)]).totalNorm, 5);
      assert.equal(new GradBuffer([1], {}).dtype, "float32");
    } finally {
      delete proto.normType;
      delete proto.percentile;
      delete proto.dtype;
    }
  });
});
