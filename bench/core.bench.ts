/**
 * clipGradNorm_ on the GPT-2-small gradient shapes (../shared/bench), clipping
 * active on every call, against PyTorch's clip_grad_norm_ (Debian's python3
 * with torch, driven by bench/torch_clip.py; skipped when torch is absent) and
 * a plain JavaScript loop, measured side by side in one run: rounds are
 * interleaved (in a rotating order) and medians reported, because the machine
 * is shared and noisy.
 *
 * Env: BENCH_ROUNDS (default 7), BENCH_ITERS (calls per variant per round, 3),
 * BENCH_PYTHON (default /usr/bin/python3).
 */
import { cpus, loadavg } from "node:os";
import { clipGradNorm_ } from "../packages/gradclip/src/arrays/clip.js";
import {
  jsArrayKernels,
  arrayKernelsFor,
  registerArrayKernelProvider,
  type ArrayKernels,
} from "../packages/gradclip/src/arrays/kernels.js";
import { GradBuffer } from "../packages/gradclip/src/arrays/wasm/grad-buffer.js";
import { wasmSimdSupported } from "../packages/gradclip/src/arrays/wasm/memory-kernels.js";
import { BandwidthProbe, median, readShapes, startTorch, type Variant } from "./shared.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ITERS = Number(process.env.BENCH_ITERS ?? 3);
const PYTHON = process.env.BENCH_PYTHON ?? "/usr/bin/python3";

// ------------------------------------------------------------ gradients

const spec = readShapes();
if (!spec) process.exit(0);
const buffer = new GradBuffer(spec.shapes.map((s) => s.shape));
const grads = buffer.grads;
const total = grads.reduce((n, g) => n + g.length, 0);

// Values ±[0.5, 1.5): no zeros, no subnormals (xorshift: Math.random is slow at this size).
let seed = 0x2545f491;
for (const g of grads) {
  for (let i = 0; i < g.length; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    g[i] = (seed & 1 ? 1 : -1) * (0.5 + (seed >>> 8) / 2 ** 24);
  }
}

// Every JS variant clips the same arrays to half their norm: tracked here,
// and restored by an exact, untimed power of two when it gets small, so the
// scaling pass always runs and values never approach subnormals.
let norm = clipGradNorm_(grads, Infinity); // coef 1: measures, writes nothing
let worstNormError = 0;

async function timed(iters: number, clip: (maxNorm: number) => number): Promise<number[]> {
  const times: number[] = [];
  for (let k = 0; k < iters; k++) {
    if (norm < 1024) {
      for (const g of grads) jsArrayKernels.scale(g, 2 ** 20);
      norm *= 2 ** 20;
    }
    const maxNorm = norm * 0.5;
    const t = performance.now();
    const preClip = clip(maxNorm);
    times.push(performance.now() - t);
    worstNormError = Math.max(worstNormError, Math.abs(preClip - norm) / norm);
    norm = maxNorm;
  }
  return times;
}

/** The straightforward loop a user would write: one float64 accumulator. */
function plainClip(list: readonly Float32Array[], maxNorm: number): number {
  let s = 0;
  for (const g of list) for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  const totalNorm = Math.sqrt(s);
  const coef = Math.min(1, maxNorm / (totalNorm + 1e-6));
  for (const g of list) for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
  return totalNorm;
}

/** clipGradNorm_ on the same arrays with `kernels` forced, as if they were ordinary Float32Arrays. */
function forced(kernels: ArrayKernels): (iters: number) => Promise<number[]> {
  const provider = { name: "bench", accepts: () => true, ...kernels };
  return (iters) => {
    const release = registerArrayKernelProvider(provider);
    return timed(iters, (m) => clipGradNorm_(grads, m)).finally(release);
  };
}
// What an ordinary Float32Array of 4096+ elements gets (see arrayKernelsFor).
const ordinary = arrayKernelsFor(new Float32Array(1 << 16));

const simd = wasmSimdSupported();
const variants: Variant[] = [
  {
    label: simd ? "gradclip, GradBuffer (WebAssembly SIMD in place)" : "gradclip, GradBuffer (no SIMD here: JS)",
    run: (iters) => timed(iters, (m) => clipGradNorm_(grads, m)),
  },
  {
    label: simd ? "gradclip, Float32Array (SIMD, staged chunks)" : "gradclip, Float32Array (no SIMD here: JS)",
    run: forced(ordinary),
  },
  { label: "gradclip, Float32Array (JS kernels only)", run: forced(jsArrayKernels) },
  { label: "plain JS loop", run: (iters) => timed(iters, (m) => plainClip(grads, m)) },
];
const PLAIN = 3;

// ------------------------------------------------------------ run

const loadBefore = loadavg()[0]!;
const torch = await startTorch(PYTHON);
// The machine's bandwidth, interleaved like the rest (a buffer of its own, as large as the gradients).
const probe = new BandwidthProbe(total);
const bandwidth: Variant = {
  label: "memory bandwidth",
  async run(iters) {
    for (let k = 0; k < iters; k++) probe.round();
    return [];
  },
};
const all = torch ? [...variants, torch.variant] : variants;
const samples = new Map<Variant, number[]>(all.map((v) => [v, []]));
try {
  for (const v of [...all, bandwidth]) await v.run(1); // warm-up: JIT, page faults
  probe.reads.length = 0;
  probe.scales.length = 0;
  const rotation = [...all, bandwidth];
  for (let r = 0; r < ROUNDS; r++) {
    for (let j = 0; j < rotation.length; j++) {
      const v = rotation[(r + j) % rotation.length]!;
      const ms = await v.run(ITERS);
      if (v !== bandwidth) samples.get(v)!.push(...ms);
    }
  }
} finally {
  torch?.stop();
}

const fmt = (ms: number): string => `${ms.toFixed(1)} ms`.padStart(9);
const ratio = (a: number, b: number | undefined): string =>
  (b === undefined ? "skipped" : `${(a / b).toFixed(2)}x`).padStart(9);
const medTorch = torch ? median(samples.get(torch.variant)!) : undefined;
const medPlain = median(samples.get(variants[PLAIN]!)!);
const width = Math.max(...all.map((v) => v.label.length));

console.log(
  `clipGradNorm_ (L2, clipping active) on GPT-2 small: ${spec.shapes.length} tensors, ` +
    `${total.toLocaleString("en-US")} float32 (${((total * 4) / 1e6).toFixed(0)} MB); ` +
    `median of ${ROUNDS * ITERS} calls each, ${ROUNDS} interleaved rounds`,
);
console.log(probe.describe());
const bound = probe.boundMs(total);
console.log(
  `${"".padEnd(width)}    median  vs PyTorch  vs plain JS  of bandwidth (${bound.toFixed(1)} ms: one read + one scale pass)`,
);
for (const v of all) {
  const m = median(samples.get(v)!);
  console.log(
    `${v.label.padEnd(width)} ${fmt(m)} ${ratio(m, medTorch)}   ${ratio(m, medPlain)}  ${((bound / m) * 100).toFixed(0).padStart(6)}%`,
  );
}
if (!torch) console.log("(PyTorch column skipped: see above)");
const best = median(samples.get(variants[0]!)!);
if (medTorch !== undefined) {
  console.log(
    `target <= 1.5x PyTorch: ${best / medTorch <= 1.5 ? "met" : "NOT met"} (${(best / medTorch).toFixed(2)}x)`,
  );
}
console.log(
  `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load average ${loadBefore.toFixed(1)} before, ` +
    `${loadavg()[0]!.toFixed(1)} after: on a shared machine compare the ratios, not the times`,
);
console.log(
  `pre-clip norms vs tracked norms: max relative difference ${worstNormError.toExponential(1)} (clipping ran every call)`,
);
