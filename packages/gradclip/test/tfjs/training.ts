/**
 * Helpers for the optimizer-wrapper tests: small models, deterministic
 * batches, save/load through tfjs-layers' real loader, counts of host reads
 * (leak checks: ../support/leaks.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";

let names = 0;

/** `prefix` made unique in this process, for variable names (tfjs refuses a second variable of one name). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${names++}`;
}

/** The layer sizes of `smallModel` (default 4 -> 6 -> 2), and a name for its output layer. */
export interface SmallModelShape {
  inputs?: number;
  hidden?: number;
  outputs?: number;
  outputName?: string;
}

/** A dense model, inputs -> hidden (tanh) -> outputs, with seeded initial weights (glorotUniform, seeds `seed` and `seed + 1`). */
export function smallModel(seed = 1, shape: SmallModelShape = {}): tfl.Sequential {
  const init = (s: number) => tfl.initializers.glorotUniform({ seed: s });
  return tfl.sequential({
    layers: [
      tfl.layers.dense({
        units: shape.hidden ?? 6,
        inputShape: [shape.inputs ?? 4],
        activation: "tanh",
        kernelInitializer: init(seed),
      }),
      tfl.layers.dense({ units: shape.outputs ?? 2, name: shape.outputName, kernelInitializer: init(seed + 1) }),
    ],
  });
}

/** Deterministic inputs and large targets (so gradients are large); `nan` makes every input NaN. */
export function batch(
  n: number,
  step = 0,
  opts: { scale?: number; nan?: boolean } = {},
): { xs: tf.Tensor; ys: tf.Tensor } {
  const x = new Float32Array(n * 4).map((_, i) => (opts.nan ? NaN : Math.sin(i * 1.3 + step)));
  const y = new Float32Array(n * 2).map((_, i) => (opts.scale ?? 50) * Math.cos(i * 0.7 + step));
  return { xs: tf.tensor(x, [n, 4]), ys: tf.tensor(y, [n, 2]) };
}

export function weightsOf(model: tfl.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => Float32Array.from(w.dataSync()));
}

/** Saves with the optimizer, through JSON text as a file would, and loads back with `loader` (tfjs-layers'). */
export async function saveAndLoad(
  model: tfl.LayersModel,
  loader: (h: tf.io.IOHandler) => Promise<tfl.LayersModel> = (h) => tfl.loadLayersModel(h),
  io: typeof tf.io = tf.io,
): Promise<tfl.LayersModel> {
  return loader(io.fromMemory(await saveArtifacts(model, io)));
}

/** What `model.save(..., { includeOptimizer: true })` writes, as a file would hold it. */
export async function saveArtifacts(model: tfl.LayersModel, io: typeof tf.io = tf.io): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
    { includeOptimizer: true },
  );
  const a = saved! as tf.io.ModelArtifacts;
  return {
    ...a,
    modelTopology: JSON.parse(JSON.stringify(a.modelTopology)),
    trainingConfig: JSON.parse(JSON.stringify(a.trainingConfig)),
  };
}

/**
 * Host reads of tensor values while `f` runs: calls of the engine's
 * `readSync` / `read`, which `dataSync()` / `data()` go through (a GPU sync
 * on webgl/webgpu). Backend kernels reading their own storage are not counted.
 */
export function countReads<T>(f: () => T): { result: T; reads: number } {
  const engine = tf.engine() as unknown as { readSync: (id: unknown) => unknown; read: (id: unknown) => unknown };
  const { readSync, read } = engine;
  let reads = 0;
  engine.readSync = function (this: unknown, id: unknown) {
    reads++;
    return readSync.call(this, id);
  };
  engine.read = function (this: unknown, id: unknown) {
    reads++;
    return read.call(this, id);
  };
  try {
    return { result: f(), reads };
  } finally {
    engine.readSync = readSync;
    engine.read = read;
  }
}
