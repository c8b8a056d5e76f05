/**
 * gradclip/tfjs benchmark (ratios against baselines measured in the same run).
 *
 * 1. `torch`: GPT-2 small transformer blocks (the `h.*` tensors of
 *    ../shared/bench/gpt2-small-shapes.json, 85.1M float32): `clipGradNorm_`
 *    on the cpu and wasm backends against PyTorch's in-place
 *    `clip_grad_norm_` on the same shapes (bench/torch_clip.py), and this
 *    machine's memory bandwidth (one read pass and one scale pass over a
 *    498 MB buffer), with each path's fraction of it. Interleaved rounds in a
 *    rotating order, medians, and the range of the per-round ratios, because
 *    the machine may be shared and noisy. Targets: cpu <= 2.0x, wasm <= 1.3x
 *    PyTorch. Each call gets fresh gradient tensors, made outside the timed
 *    region, as after a backward pass. Also timed: wasm with every storage
 *    shared (results go to new tensors), and the two floors of any cpu path
 *    that returns new tensors: allocating them and writing each once, and
 *    reading the gradients with SIMD (copying their storage into WebAssembly
 *    memory, nothing computed); for these, the fresh memory (page faults) and
 *    garbage collection per call.
 * 2. `naive`: the composition users write today,
 *      total = tf.norm(tf.stack(grads.map(g => tf.norm(g))));
 *      coef = min(1, maxNorm / (total + 1e-6)); grads.map(g => tf.mul(g, coef))
 *    against `clipGradNorm_`, on cpu and wasm (targets: cpu >= 30x, wasm >= 10x).
 * 3. `lstm`: the wrapper's overhead on a small LSTM `trainOnBatch` step (target <= 5%).
 *
 * Run: node --import tsx bench/tfjs.bench.ts [torch|naive|lstm]   (all three by default;
 * `clip` is an old name for `naive`). Env: BENCH_ROUNDS (default 7), BENCH_ITERS
 * (calls per variant per round, 3), BENCH_PYTHON (default /usr/bin/python3).
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import * as tfl from "@tensorflow/tfjs-layers";
import { cpus, loadavg } from "node:os";
import { PerformanceObserver } from "node:perf_hooks";
import { getTotalNorm as coreTotalNorm } from "../packages/gradclip/src/index.js";
import { wasmSimdSupported } from "../packages/gradclip/src/arrays/wasm/memory-kernels.js";
import { clipGradNorm_, withGradientClipping } from "../packages/gradclip/src/tfjs/index.js";
import { clipPathForActiveBackend } from "../packages/gradclip/src/tfjs/backends/index.js";
import { uninitializedFloat32 } from "../packages/gradclip/src/tfjs/backends/cpu.js";
// Chunks as the staged kernels copy them (1 MiB of float32).
import { CHUNK as READ_CHUNK } from "../packages/gradclip/src/arrays/wasm/staged.js";
import { BandwidthProbe, median, readShapes, startTorch, type Variant } from "./shared.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ITERS = Number(process.env.BENCH_ITERS ?? 3);
const PYTHON = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
const MAX_NORM = 1.0;

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
  backend: "cpu" | "wasm",
  source: Float32Array[],
  shapes: number[][],
  reps: { naive: number; ours: number },
): Promise<void> {
  await tf.setBackend(backend);
  await tf.ready();
  const trueNorm = coreTotalNorm(source); // float64 reference
  // Fresh tensors per run, made outside the timed region (a backward pass's output).
  const fresh = () => source.map((d, i) => tf.tensor(d, shapes[i]!, "float32"));
  const naive: number[] = [],
    ours: number[] = [];
  let naiveNorm = NaN,
    ourNorm = NaN;
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
    `clipGradNorm_ on GPT-2 small h.* (${backend}, path ${clipPathForActiveBackend().name}): ` +
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
    model.compile({
      optimizer: wrap ? withGradientClipping(adam, { maxNorm: MAX_NORM }) : adam,
      loss: "meanSquaredError",
    });
    return model;
  };
  const xs = tf.randomNormal([32, 16, 8], 0, 1, "float32", 1),
    ys = tf.randomNormal([32, 1], 0, 1, "float32", 2);
  const plain = build(false),
    wrapped = build(true);
  const time = async (m: tfl.LayersModel, n: number) => {
    const t0 = now();
    for (let i = 0; i < n; i++) await m.trainOnBatch(xs, ys);
    return (now() - t0) / n;
  };
  await time(plain, 5);
  await time(wrapped, 5);
  // Interleaved blocks; the median of per-block ratios is less sensitive to a shared, noisy machine.
  const ratios: number[] = [],
    stepMs: number[] = [];
  for (let k = 0; k < 8; k++) {
    // Alternate which goes first, so drift on a shared machine does not favour either.
    const [a, b] =
      k % 2 === 0
        ? [await time(plain, steps), await time(wrapped, steps)]
        : (([y, x]) => [x, y])([await time(wrapped, steps), await time(plain, steps)]);
    ratios.push(b! / a!);
    stepMs.push(a!);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  // The wrapper's own work, isolated: the same gradients through the wrapped and the plain optimizer.
  const vars = wrapped.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(
    () => tf.losses.meanSquaredError(ys, wrapped.predict(xs) as tf.Tensor) as tf.Scalar,
    vars,
  );
  const inner = tf.train.adam(1e-3),
    outer = withGradientClipping(tf.train.adam(1e-3), { maxNorm: MAX_NORM });
  const applyMs = (o: tf.Optimizer, n: number) => {
    const t0 = now();
    for (let i = 0; i < n; i++) o.applyGradients(grads);
    return (now() - t0) / n;
  };
  applyMs(inner, 5);
  applyMs(outer, 5);
  const extra: number[] = [];
  for (let k = 0; k < 8; k++) extra.push(applyMs(outer, 20) - applyMs(inner, 20));
  const step = median(stepMs);
  console.log(
    `withGradientClipping on a small LSTM trainOnBatch step (cpu): step ${step.toFixed(1)} ms; ` +
      `wrapped/plain step time ${((median(ratios) - 1) * 100).toFixed(1)}% (median of 8 interleaved blocks); ` +
      `clipping's own cost ${median(extra).toFixed(3)} ms = ${((median(extra) / step) * 100).toFixed(2)}% of the step`,
  );
  tf.dispose([value, ...Object.values(grads)]);
  inner.dispose();
  outer.dispose();
  plain.dispose();
  wrapped.dispose();
  tf.dispose([xs, ys]);
}

/** What the timed calls of our variants cost the process besides their own work. */
interface CallCosts {
  /** Fresh memory touched per call (minor page faults x 4 KiB), MB. */
  faultMB: number[];
  /** Timed intervals, to attribute garbage-collection pauses to them. */
  intervals: [number, number][];
}

interface Report {
  worstNormError: number;
  paths: Map<string, string>;
  costs: Map<Variant, CallCosts>;
}

/** Times `call` `iters` times on what `setup` (untimed, before each call) made for it. */
function timedCalls<T>(v: Variant, report: Report, iters: number, setup: () => T, call: (input: T) => void): number[] {
  const costs = report.costs.get(v) ?? { faultMB: [], intervals: [] };
  report.costs.set(v, costs);
  const times: number[] = [];
  for (let k = 0; k < iters; k++) {
    const input = setup();
    const faults = process.resourceUsage().minorPageFault;
    const t0 = now();
    call(input);
    const t1 = now();
    times.push(t1 - t0);
    costs.intervals.push([t0, t1]);
    costs.faultMB.push(((process.resourceUsage().minorPageFault - faults) * 4096) / 1e6);
  }
  return times;
}

/** One of gradclip's paths on the `h.*` tensors, timed over fresh tensors per call. */
function clipVariant(
  label: string,
  backend: "cpu" | "wasm",
  source: Float32Array[],
  shapes: number[][],
  trueNorm: number,
  shared: boolean,
  report: Report,
): Variant {
  const v: Variant = {
    label,
    async run(iters) {
      await tf.setBackend(backend);
      report.paths.set(label, clipPathForActiveBackend().name);
      return timedCalls(
        v,
        report,
        iters,
        () => {
          // A backward pass's output (on cpu: tensors over the arrays given, which must stay unchanged).
          const grads = source.map((d, i) => tf.tensor(d, shapes[i]!, "float32"));
          // Another reference to each storage (as a user's tf.reshape would be): nothing can be written in place.
          const aliases = shared ? grads.map((g) => tf.reshape(g, g.shape)) : [];
          return { grads, aliases };
        },
        ({ grads, aliases }) => {
          const n = clipGradNorm_(grads, MAX_NORM);
          report.worstNormError = Math.max(report.worstNormError, Math.abs(n.dataSync()[0]! - trueNorm) / trueNorm);
          tf.dispose([n, ...grads, ...aliases]);
        },
      );
    },
  };
  return v;
}

/** A floor row: `call` timed on the cpu backend, nothing set up per call. */
function floorVariant(label: string, report: Report, call: () => void): Variant {
  const v: Variant = {
    label,
    async run(iters) {
      await tf.setBackend("cpu");
      return timedCalls(v, report, iters, () => null, call);
    },
  };
  return v;
}

/**
 * The least any cpu path returning new tensors pays: new tensors of the same
 * shapes (storage allocated as the cpu path allocates it), each written once,
 * nothing read.
 */
function cpuAllocationFloor(shapes: number[][], report: Report): Variant {
  const sizes = shapes.map((sh) => sh.reduce((a, b) => a * b, 1));
  return floorVariant("(floor) new cpu tensors of these shapes, written once", report, () => {
    tf.dispose(sizes.map((n, i) => tf.tensor(uninitializedFloat32(n).fill(0.5), shapes[i]!, "float32")));
  });
}

/**
 * The least a cpu path pays to read its gradients with SIMD: WebAssembly
 * sees only its own memory, so each cpu tensor's storage (a JavaScript typed
 * array) is copied into it, chunk by chunk as the staged kernels copy it,
 * and nothing is computed. The JavaScript loops, the other way to read it,
 * are slower still.
 */
function cpuReadFloor(source: Float32Array[], report: Report): Variant {
  const pages = Math.ceil((READ_CHUNK * 4) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const stage = new Float32Array(memory.buffer, 0, READ_CHUNK);
  return floorVariant("(floor) their storage copied into WebAssembly memory", report, () => {
    for (const a of source) {
      for (let i = 0; i < a.length; i += READ_CHUNK) stage.set(a.subarray(i, Math.min(a.length, i + READ_CHUNK)));
    }
  });
}

async function torchRatio(source: Float32Array[], shapes: number[][], allElements: number): Promise<void> {
  await tf.setBackend("wasm"); // initialised before anything is timed
  await tf.setBackend("cpu");
  const elements = source.reduce((n, a) => n + a.length, 0);
  const trueNorm = coreTotalNorm(source); // float64
  const report: Report = { worstNormError: 0, paths: new Map(), costs: new Map() };
  const gcPauses: { start: number; ms: number }[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, ms: e.duration });
  });
  gcObserver.observe({ entryTypes: ["gc"] });
  const probe = new BandwidthProbe(allElements);
  const bandwidth: Variant = {
    label: "memory bandwidth: one read pass + one scale pass",
    async run(iters) {
      const times: number[] = [];
      for (let k = 0; k < iters; k++) {
        probe.round();
        times.push(probe.reads.at(-1)! + probe.scales.at(-1)!);
      }
      return times;
    },
  };
  const cpu = clipVariant("gradclip/tfjs, cpu backend (new tensors)", "cpu", source, shapes, trueNorm, false, report);
  const wasm = clipVariant("gradclip/tfjs, wasm backend", "wasm", source, shapes, trueNorm, false, report);
  const wasmShared = clipVariant(
    "gradclip/tfjs, wasm backend, storage shared (new tensors)",
    "wasm",
    source,
    shapes,
    trueNorm,
    true,
    report,
  );
  const floor = cpuAllocationFloor(shapes, report);
  const readFloor = cpuReadFloor(source, report);
  const loadBefore = loadavg()[0]!;
  const torch = await startTorch(PYTHON, "h.");
  const ours = [cpu, wasm, wasmShared, floor, readFloor];
  const all = [...ours, bandwidth, ...(torch ? [torch.variant] : [])];
  const perRound = new Map<Variant, number[]>(all.map((v) => [v, []]));
  const samples = new Map<Variant, number[]>(all.map((v) => [v, []]));
  try {
    for (const v of all) await v.run(1); // warm-up: JIT, page faults, heap growth
    probe.reads.length = 0;
    probe.scales.length = 0;
    report.costs.clear();
    for (let r = 0; r < ROUNDS; r++) {
      for (let j = 0; j < all.length; j++) {
        const v = all[(r + j) % all.length]!;
        const ms = await v.run(ITERS);
        samples.get(v)!.push(...ms);
        perRound.get(v)!.push(median(ms));
      }
    }
  } finally {
    torch?.stop();
  }
  await new Promise((resolve) => setImmediate(resolve)); // the last GC entries
  gcObserver.disconnect();
  const untouched = coreTotalNorm(source) === trueNorm;

  const bound = probe.boundMs(elements);
  const width = Math.max(...all.map((v) => v.label.length));
  console.log(
    `clipGradNorm_ (L2, clipping active) on GPT-2 small h.*: ${shapes.length} tensors, ` +
      `${elements.toLocaleString("en-US")} float32 (${((elements * 4) / 1e6).toFixed(0)} MB); ` +
      `median of ${ROUNDS * ITERS} calls each, ${ROUNDS} interleaved rounds; WebAssembly SIMD ${wasmSimdSupported() ? "on" : "unavailable"}`,
  );
  console.log(probe.describe());
  console.log(
    `at that bandwidth a clip of ${(elements / 1e6).toFixed(1)}M float32 (one read pass, one scale pass) takes ${bound.toFixed(1)} ms`,
  );
  console.log(`${"".padEnd(width)}    median  vs PyTorch (range over rounds)  of bandwidth`);
  const torchMs = torch ? median(samples.get(torch.variant)!) : undefined;
  const torchRounds = torch ? perRound.get(torch.variant)! : [];
  const ratioOf = (v: Variant): { ratio: number; lo: number; hi: number } | null => {
    if (torchMs === undefined) return null;
    const rounds = perRound.get(v)!.map((ms, r) => ms / torchRounds[r]!);
    return { ratio: median(samples.get(v)!) / torchMs, lo: Math.min(...rounds), hi: Math.max(...rounds) };
  };
  for (const v of [...ours, ...(torch ? [torch.variant] : [])]) {
    const ms = median(samples.get(v)!);
    const r = ratioOf(v);
    const vs = r ? `${r.ratio.toFixed(2)}x (${r.lo.toFixed(2)}-${r.hi.toFixed(2)})` : "skipped";
    const path = report.paths.get(v.label);
    console.log(
      `${v.label.padEnd(width)} ${`${ms.toFixed(1)} ms`.padStart(9)}  ${vs.padEnd(29)} ${((bound / ms) * 100).toFixed(0).padStart(4)}%` +
        (path ? `  (path ${path})` : ""),
    );
  }
  // Where the time of paths that allocate goes: the kernel's page faults on fresh memory, and V8's collector.
  for (const v of ours) {
    const costs = report.costs.get(v)!;
    const pauses = costs.intervals.map(([t0, t1]) => gcPauses.filter((g) => g.start >= t0 && g.start < t1));
    console.log(
      `  ${v.label}: per call (median) ${median(costs.faultMB).toFixed(0)} MB of fresh pages touched, ` +
        `${median(pauses.map((p) => p.length))} collections taking ${median(pauses.map((p) => p.reduce((ms, g) => ms + g.ms, 0))).toFixed(1)} ms`,
    );
  }
  const floorsMs = median(samples.get(floor)!) + median(samples.get(readFloor)!);
  console.log(
    `the two cpu floors together (new tensors written once, the gradients read once by SIMD): ${floorsMs.toFixed(1)} ms` +
      (torchMs === undefined ? "" : ` = ${(floorsMs / torchMs).toFixed(2)}x PyTorch, before any arithmetic`),
  );
  if (torch) {
    for (const [v, target] of [
      [cpu, 2.0],
      [wasm, 1.3],
    ] as const) {
      const r = ratioOf(v)!;
      console.log(
        `target ${v.label} <= ${target.toFixed(1)}x PyTorch: ${r.ratio <= target ? "met" : "NOT met"} (${r.ratio.toFixed(2)}x)`,
      );
    }
  } else {
    console.log("(PyTorch column skipped: see above)");
  }
  console.log(
    `norms vs float64: max relative difference ${report.worstNormError.toExponential(1)}; ` +
      `the arrays the cpu tensors were made from ${untouched ? "are unchanged" : "CHANGED"}`,
  );
  console.log(
    `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load average ${loadBefore.toFixed(1)} before, ` +
      `${loadavg()[0]!.toFixed(1)} after: on a shared machine compare the ratios, not the times`,
  );
  if (!untouched) process.exitCode = 1;
}

const spec = readShapes();
if (spec) {
  const part = process.argv[2] === "clip" ? "naive" : process.argv[2]; // one part, or all
  const shapes = spec.shapes.filter((s) => s.name.startsWith("h.")).map((s) => s.shape);
  const elements = shapes.reduce((n, sh) => n + sh.reduce((a, b) => a * b, 1), 0);
  const source =
    part === "lstm"
      ? []
      : shapes.map((sh, i) =>
          fill(
            sh.reduce((a, b) => a * b, 1),
            i + 1,
          ),
        );
  if (!part || part === "torch") {
    console.log(`\n-- gradclip/tfjs against PyTorch, and memory bandwidth`);
    await torchRatio(source, shapes, spec.elements);
  }
  if (!part || part === "naive") {
    console.log(`\n-- gradclip/tfjs against the naive tf-ops composition`);
    console.log(`GPT-2 small h.* tensors: ${shapes.length} tensors, ${(elements / 1e6).toFixed(1)}M float32`);
    await clipRatio("cpu", source, shapes, { naive: 2, ours: 3 });
    await clipRatio("wasm", source, shapes, { naive: 2, ours: 3 });
  }
  if (!part || part === "lstm") {
    console.log(`\n-- withGradientClipping overhead`);
    await lstmOverhead(10);
  }
}
