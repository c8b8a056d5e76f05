/**
 * gradclip/tfjs benchmark (ratios against a baseline measured in the same run).
 *
 * 1. GPT-2 small transformer blocks (the `h.*` tensors of
 *    ../shared/bench/gpt2-small-shapes.json, 85M float32): the naive
 *    composition users write today,
 *      total = tf.norm(tf.stack(grads.map(g => tf.norm(g))));
 *      coef = min(1, maxNorm / (total + 1e-6)); grads.map(g => tf.mul(g, coef))
 *    against `clipGradNorm_`, on the cpu and wasm backends (targets: cpu >= 30x,
 *    wasm >= 10x). Each side gets fresh gradient tensors, as after a backward pass.
 * 2. The wrapper's overhead on a small LSTM `trainOnBatch` step (target <= 5%).
 *
 * Run: node --import tsx bench/tfjs.bench.ts [clip|lstm]   (one to two minutes)
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import * as tfl from "@tensorflow/tfjs-layers";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { getTotalNorm as coreTotalNorm } from "../packages/gradclip/src/index.js";
import { clipGradNorm_, withGradientClipping } from "../packages/gradclip/src/tfjs/index.js";
import { clipKernelsForActiveBackend } from "../packages/gradclip/src/tfjs/backends/index.js";

const MAX_NORM = 1.0;

function gpt2BlockShapes(): number[][] {
  const path = fileURLToPath(new URL("../../shared/bench/gpt2-small-shapes.json", import.meta.url));
  const spec = JSON.parse(readFileSync(path, "utf8")) as { shapes: { name: string; shape: number[] }[] };
  return spec.shapes.filter((s) => s.name.startsWith("h.")).map((s) => s.shape);
}

/** Deterministic pseudo-gradients (a cheap LCG), roughly N(0, 0.01)-sized. */
function fill(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    a[i] = (x / 4294967296 - 0.5) * 0.02;
  }
  return a;
}

function naiveClip(grads: tf.Tensor[], maxNorm: number): { total: tf.Tensor; out: tf.Tensor[] } {
  return tf.tidy(() => {
    // (tidied per tensor so the naive side does not run out of wasm memory)
    const norms = grads.map((g) => tf.tidy(() => tf.norm(g)));
    const total = tf.norm(tf.stack(norms));
    const coef = tf.minimum(1, tf.div(maxNorm, tf.add(total, 1e-6)));
    return { total, out: grads.map((g) => tf.mul(g, coef)) };
  });
}

const now = () => performance.now();

async function clipRatio(
  backend: "cpu" | "wasm", source: Float32Array[], shapes: number[][], reps: { naive: number; ours: number },
): Promise<void> {
  await tf.setBackend(backend);
  await tf.ready();
  const trueNorm = coreTotalNorm(source); // float64 reference
  // Fresh tensors per run, made outside the timed region (a backward pass's output).
  const fresh = () => source.map((d, i) => tf.tensor(d, shapes[i]!, "float32"));
  const naive: number[] = [], ours: number[] = [];
  let naiveNorm = NaN, ourNorm = NaN;
  for (let r = 0; r < Math.max(reps.naive, reps.ours); r++) {
    if (r < reps.naive) {
      const grads = fresh();
      const t0 = now();
      const { total, out } = naiveClip(grads, MAX_NORM);
      out.at(-1)!.dataSync(); // wait for the result
      naive.push(now() - t0);
      naiveNorm = total.dataSync()[0]!;
      tf.dispose([total, ...out, ...grads]);
    }
    if (r < reps.ours) {
      const grads = fresh();
      const t0 = now();
      const n = clipGradNorm_(grads, MAX_NORM);
      grads.at(-1)!.dataSync();
      ours.push(now() - t0);
      ourNorm = n.dataSync()[0]!;
      tf.dispose([n, ...grads]);
    }
  }
  const best = (xs: number[]) => Math.min(...xs);
  const rel = (x: number) => Math.abs(x - trueNorm) / trueNorm;
  console.log(
    `clipGradNorm_ on GPT-2 small h.* (${backend}, path ${clipKernelsForActiveBackend().name}): ` +
      `naive ${best(naive).toFixed(0)} ms, gradclip ${best(ours).toFixed(0)} ms, ` +
      `ratio ${(best(naive) / best(ours)).toFixed(1)}x (best of ${reps.naive}/${reps.ours}); ` +
      `norm rel. error vs float64: naive ${rel(naiveNorm).toExponential(1)}, gradclip ${rel(ourNorm).toExponential(1)}`,
  );
}

async function lstmOverhead(steps: number): Promise<void> {
  await tf.setBackend("cpu");
  const build = (wrap: boolean) => {
    const model = tfl.sequential({
      layers: [
        // glorotUniform: tfjs's default orthogonal initializer needs chained ops the node bundle lacks.
        tfl.layers.lstm({ units: 32, inputShape: [16, 8], recurrentInitializer: "glorotUniform" }),
        tfl.layers.dense({ units: 1 }),
      ],
    });
    const adam = tf.train.adam(1e-3);
    model.compile({ optimizer: wrap ? withGradientClipping(adam, { maxNorm: MAX_NORM }) : adam, loss: "meanSquaredError" });
    return model;
  };
  const xs = tf.randomNormal([32, 16, 8], 0, 1, "float32", 1), ys = tf.randomNormal([32, 1], 0, 1, "float32", 2);
  const plain = build(false), wrapped = build(true);
  const time = async (m: tfl.LayersModel, n: number) => {
    const t0 = now();
    for (let i = 0; i < n; i++) await m.trainOnBatch(xs, ys);
    return (now() - t0) / n;
  };
  await time(plain, 5); await time(wrapped, 5);
  // Interleaved blocks; the median of per-block ratios is less sensitive to a shared, noisy machine.
  const ratios: number[] = [], stepMs: number[] = [];
  for (let k = 0; k < 8; k++) {
    // Alternate which goes first, so drift on a shared machine does not favour either.
    const [a, b] = k % 2 === 0
      ? [await time(plain, steps), await time(wrapped, steps)]
      : (([y, x]) => [x, y])([await time(wrapped, steps), await time(plain, steps)]);
    ratios.push(b! / a!); stepMs.push(a!);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  // The wrapper's own work, isolated: the same gradients through the wrapped and the plain optimizer.
  const vars = wrapped.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(
    () => tf.losses.meanSquaredError(ys, wrapped.predict(xs) as tf.Tensor) as tf.Scalar, vars);
  const inner = tf.train.adam(1e-3), outer = withGradientClipping(tf.train.adam(1e-3), { maxNorm: MAX_NORM });
  const applyMs = (o: tf.Optimizer, n: number) => { const t0 = now(); for (let i = 0; i < n; i++) o.applyGradients(grads); return (now() - t0) / n; };
  applyMs(inner, 5); applyMs(outer, 5);
  const extra: number[] = [];
  for (let k = 0; k < 8; k++) extra.push(applyMs(outer, 20) - applyMs(inner, 20));
  const step = median(stepMs);
  console.log(
    `withGradientClipping on a small LSTM trainOnBatch step (cpu): step ${step.toFixed(1)} ms; ` +
      `wrapped/plain step time ${((median(ratios) - 1) * 100).toFixed(1)}% (median of 8 interleaved blocks); ` +
      `clipping's own cost ${median(extra).toFixed(3)} ms = ${((median(extra) / step) * 100).toFixed(2)}% of the step`,
  );
  tf.dispose([value, ...Object.values(grads)]); inner.dispose(); outer.dispose();
  plain.dispose(); wrapped.dispose(); tf.dispose([xs, ys]);
}

const shapes = gpt2BlockShapes();
const elements = shapes.reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0);
console.log(`GPT-2 small h.* tensors: ${shapes.length} tensors, ${(elements / 1e6).toFixed(1)}M float32`);
const source = process.argv[2] === "lstm" ? [] : shapes.map((sh, i) => fill(sh.reduce((a, b) => a * b, 1), i + 1));
const only = process.argv[2]; // "clip" or "lstm" to run one part
if (only !== "lstm") {
  await clipRatio("cpu", source, shapes, { naive: 2, ours: 3 });
  await clipRatio("wasm", source, shapes, { naive: 2, ours: 3 });
}
if (only !== "clip") await lstmOverhead(10);
