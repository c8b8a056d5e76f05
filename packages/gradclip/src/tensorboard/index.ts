/**
 * gradclip/tensorboard (Node only): TensorBoard event files in plain
 * JavaScript, without TensorFlow. A scalar writer, a function writing a
 * `GradientMonitor`'s records, and a tfjs-layers `fit` callback. Loads
 * without tfjs installed (the callback's `optimizer` option needs
 * `gradclip/tfjs`); browsers use `gradclip` and `gradclip/tfjs`, which never
 * import this module or `fs`.
 *
 * @example
 * ```ts
 * import { GradientMonitor } from "gradclip";
 * import { TensorBoardWriter, writeMonitorRecords } from "gradclip/tensorboard";
 *
 * const monitor = new GradientMonitor();
 * monitor.recordMany([{ totalNorm: 3, maxNorm: 1 }, { totalNorm: 0.5, maxNorm: 1 }]);
 * const writer = new TensorBoardWriter("logs/run1"); // then: tensorboard --logdir logs
 * console.log(writeMonitorRecords(writer, monitor));
 * writer.close();
 * ```
 * ```text
 * { written: 2, lastStep: 1 }
 * ```
 *
 * @module
 */
export { TensorBoardWriter, TensorBoardWriterError, type TensorBoardWriterOptions } from "./writer.js";
export {
  writeMonitorRecords,
  type WriteMonitorRecordsOptions,
  type WriteMonitorRecordsResult,
} from "./monitor-records.js";
export {
  tensorBoardCallback,
  type TensorBoardCallback,
  type TensorBoardCallbackOptions,
  type TensorBoardUpdateFreq,
} from "./callback.js";
