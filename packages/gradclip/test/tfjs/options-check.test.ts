/**
 * withGradientClipping and every nested clipper option go through the
 * shared options checker: misspelt keys get the "did you mean" hint, and
 * every error names the function and the argument.
 */
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import {
  feedMonitor,
  gradientMonitorCallback,
  withGradientClipping,
  type GradientClippingOptions,
} from "../../src/tfjs/index.js";
import { GradientMonitor } from "../../src/index.js";
import { agcClipper, autoClipClipper, zClipClipper } from "../../src/tfjs/extend.js";
import { useMode } from "./setup.js";
import { assertThrowsTyped } from "../support/errors.js";

test("misspelt option keys get a did-you-mean hint, at the top level and in every clipper's options", async () => {
  await useMode("cpu");
  const sgd = () => tf.train.sgd(0.1);
  const cases: [unknown, RegExp][] = [
    [{ max_norm: 1 }, /^gradclip: withGradientClipping: unknown option "max_norm" \(did you mean maxNorm\?\)/],
    [{ maxnorm: 1 }, /unknown option "maxnorm" \(did you mean maxNorm\?\)/],
    [{ clipNorm: 1 }, /unknown option "clipNorm" \(did you mean clipnorm\?\)/],
    [{ nonfinite: "skip" }, /unknown option "nonfinite" \(did you mean nonFinite\?\)/],
    [{ norm_type: 1, maxNorm: 1 }, /unknown option "norm_type" \(did you mean normType\?\)/],
    [{ autoClip: {} }, /unknown option "autoClip" \(did you mean autoclip\?\)/],
    [
      { autoclip: { history_size: 5 } },
      /^gradclip: withGradientClipping: options\.autoclip: unknown option "history_size" \(did you mean historySize\?\)/,
    ],
    [{ zclip: { zthreshold: 2 } }, /options\.zclip: unknown option "zthreshold" \(did you mean zThreshold\?\)/],
    [{ zclip: { warmup_steps: 2 } }, /options\.zclip: unknown option "warmup_steps" \(did you mean warmupSteps\?\)/],
    [{ agc: { unitaxis: "last" } }, /options\.agc: unknown option "unitaxis" \(did you mean unitAxis\?\)/],
    [
      { agc: { exclude_pattern: "x" } },
      /options\.agc: unknown option "exclude_pattern" \(did you mean excludePattern\?\)/,
    ],
  ];
  for (const [options, message] of cases)
    assertThrowsTyped(() => withGradientClipping(sgd(), options as GradientClippingOptions), TypeError, message);
  // The clipper functions check the same way, naming themselves.
  assertThrowsTyped(
    () => autoClipClipper({ history_size: 3 } as never),
    TypeError,
    /^gradclip: autoClipClipper: unknown option "history_size" \(did you mean historySize\?\)/,
  );
  assertThrowsTyped(
    () => zClipClipper({ Alpha: 0.9 } as never),
    TypeError,
    /^gradclip: zClipClipper: unknown option "Alpha" \(did you mean alpha\?\)/,
  );
  assertThrowsTyped(
    () => agcClipper({ Clipping: 0.1 } as never),
    TypeError,
    /^gradclip: agcClipper: unknown option "Clipping" \(did you mean clipping\?\)/,
  );
  // And the monitor feed's options.
  const opt = withGradientClipping(sgd(), { maxNorm: 1 });
  assertThrowsTyped(
    () => feedMonitor(opt, new GradientMonitor(), { read_every: 4 } as never),
    TypeError,
    /^gradclip: feedMonitor: unknown option "read_every" \(did you mean readEvery\?\)/,
  );
  assertThrowsTyped(
    () => gradientMonitorCallback(opt, new GradientMonitor(), { pervariable: true } as never),
    TypeError,
    /gradientMonitorCallback: unknown option "pervariable" \(did you mean perVariable\?\)/,
  );
});

test("range and type errors name withGradientClipping and the option", async () => {
  await useMode("cpu");
  const sgd = () => tf.train.sgd(0.1);
  const cases: [unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    [{ maxNorm: -1 }, RangeError, /^gradclip: withGradientClipping: options\.maxNorm must be a number >= 0; got -1\./],
    [
      { global_clipnorm: NaN },
      RangeError,
      /withGradientClipping: options\.global_clipnorm must be a number >= 0; got NaN/,
    ],
    [{ clipvalue: "1" }, TypeError, /withGradientClipping: options\.clipvalue must be a number >= 0; got "1"/],
    [{ clipnorm: -2 }, RangeError, /withGradientClipping: options\.clipnorm must be/],
    [{ maxNorm: 1, normType: 0 }, RangeError, /^gradclip: withGradientClipping: normType must be/],
    [
      { autoclip: { percentile: 200 } },
      RangeError,
      /^gradclip: withGradientClipping: options\.autoclip: .*percentile.*200/,
    ],
    [{ autoclip: { historySize: 0.5 } }, RangeError, /withGradientClipping: options\.autoclip: .*historySize/],
    [
      { autoclip: 10 },
      TypeError,
      /^gradclip: withGradientClipping: options\.autoclip must be an options object \(\{\} for the defaults\); got 10\./,
    ],
    [{ zclip: { alpha: 2 } }, RangeError, /withGradientClipping: options\.zclip: .*alpha/],
    [{ zclip: { maxNorm: -1 } }, RangeError, /withGradientClipping: options\.zclip: .*maxNorm/],
    [{ agc: { clipping: 0 } }, RangeError, /withGradientClipping: options\.agc: .*clipping/],
    [{ agc: { unitAxis: "middle" } }, RangeError, /withGradientClipping: options\.agc: .*unitAxis/],
    [{ agc: { exclude: "x" } }, TypeError, /withGradientClipping: options\.agc: exclude must be an array/],
    [
      { nonFinite: "ignore" },
      TypeError,
      /withGradientClipping: options\.nonFinite must be "propagate", "error" or "skip"/,
    ],
    [{ errorIfNonfinite: 1 }, TypeError, /withGradientClipping: options\.errorIfNonfinite must be a boolean/],
    [{ clipper: {} }, TypeError, /withGradientClipping: options\.clipper must be a GradientClipper/],
    [5, TypeError, /^gradclip: withGradientClipping: options must be an object \(write \{ maxNorm: 5 \}\); got 5\./],
    [undefined, TypeError, /^gradclip: withGradientClipping: options are required/],
  ];
  for (const [options, type, message] of cases)
    assertThrowsTyped(() => withGradientClipping(sgd(), options as GradientClippingOptions), type, message);
  const opt = withGradientClipping(sgd(), { maxNorm: 1 });
  assertThrowsTyped(
    () => feedMonitor(opt, new GradientMonitor(), { readEvery: 0 }),
    RangeError,
    /feedMonitor: options\.readEvery must be an integer >= 1/,
  );
});
