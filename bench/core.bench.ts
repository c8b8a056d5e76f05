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
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { clipGradNorm_ } from "../packages/gradclip/src/arrays/clip.js";
import { jsKernels, kernelsFor, registerKernelProvider, type ArrayKernels } from "../packages/gradclip/src/arrays/kernels.js";
import { GradBuffer } from "../packages/gradclip/src/arrays/wasm/grad-buffer.js";
import { wasmSimdSupported } from "../packages/gradclip/src/arrays/wasm/memory-kernels.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ITERS = Number(process.env.BENCH_ITERS ?? 3);
const PYTHON = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
const SHAPES = fileURLToPath(new URL("../../shared/bench/gpt2-small-shapes.json", import.meta.url));
const TORCH_SCRIPT = fileURLToPath(new URL("./torch_clip.py", import.meta.url));

interface Variant {
  label: string;
  /** Runs `iters` timed calls; returns their times in ms. */
  run(iters: number): Promise<number[]>;
}

// ------------------------------------------------------------ gradients

if (!existsSync(SHAPES)) {
  console.log(`skipped: ${SHAPES} not found (the shared/ folder sits beside the repository).`);
  process.exit(0);
}
const spec = JSON.parse(readFileSync(SHAPES, "utf8")) as { shapes: { shape: number[] }[]; elements: number };
const buffer = new GradBuffer(spec.shapes.map((s) => s.shape));
const grads = buffer.grads;
const total = grads.reduce((n, g) => n + g.length, 0);

// Values ±[0.5, 1.5): no zeros, no subnormals (xorshift: Math.random is slow at this size).
let seed = 0x2545f491;
for (const g of grads) {
  for (let i = 0; i < g.length; i++) {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
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
      for (const g of grads) jsKernels.scale(g, 2 ** 20);
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
    const release = registerKernelProvider(provider);
    return timed(iters, (m) => clipGradNorm_(grads, m)).finally(release);
  };
}
// What an ordinary Float32Array of 4096+ elements gets (see kernelsFor).
const ordinary = kernelsFor(new Float32Array(1 << 16));

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
  { label: "gradclip, Float32Array (JS kernels only)", run: forced(jsKernels) },
  { label: "plain JS loop", run: (iters) => timed(iters, (m) => plainClip(grads, m)) },
];
const PLAIN = 3;

// ------------------------------------------------------------ PyTorch

interface TorchWorker {
  label: string;
  variant: Variant;
  stop(): void;
}

/** Starts bench/torch_clip.py; resolves to null (with the reason printed) when torch is unavailable. */
async function startTorch(): Promise<TorchWorker | null> {
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn(PYTHON, [TORCH_SCRIPT, SHAPES], { stdio: ["pipe", "pipe", "pipe"] });
  } catch (e) {
    console.log(`PyTorch column skipped: cannot start ${PYTHON} (${(e as Error).message}).`);
    return null;
  }
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const failed = new Promise<null>((resolve) => {
    child.on("error", (e) => {
      stderr += e.message;
      resolve(null);
    });
    child.on("exit", () => resolve(null));
  });
  const next = async (): Promise<Record<string, unknown> | null> => {
    const r = await Promise.race([lines.next(), failed]);
    if (!r || r.done) return null;
    return JSON.parse(r.value) as Record<string, unknown>;
  };
  const hello = await next();
  if (!hello || !hello.ready) {
    const why = (hello?.error as string | undefined) ?? (stderr.trim().split("\n").pop() || "no reply");
    console.log(`PyTorch column skipped: ${why}`);
    child.kill();
    return null;
  }
  const label = `PyTorch ${hello.torch as string} clip_grad_norm_ (${hello.threads as number} thread${hello.threads === 1 ? "" : "s"})`;
  return {
    label,
    variant: {
      label,
      async run(iters) {
        child.stdin.write(`run ${iters}\n`);
        const reply = await next();
        if (!reply) throw new Error(`bench/torch_clip.py stopped: ${stderr}`);
        return reply.ms as number[];
      },
    },
    stop() {
      child.stdin.end("quit\n");
    },
  };
}

// ------------------------------------------------------------ run

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const loadBefore = loadavg()[0]!;
const torch = await startTorch();
const all = torch ? [...variants, torch.variant] : variants;
const samples = new Map<Variant, number[]>(all.map((v) => [v, []]));
try {
  for (const v of all) await v.run(1); // warm-up: JIT, page faults
  for (let r = 0; r < ROUNDS; r++) {
    for (let j = 0; j < all.length; j++) {
      const v = all[(r + j) % all.length]!;
      samples.get(v)!.push(...(await v.run(ITERS)));
    }
  }
} finally {
  torch?.stop();
}

const fmt = (ms: number): string => `${ms.toFixed(1)} ms`.padStart(9);
const ratio = (a: number, b: number | undefined): string => (b === undefined ? "skipped" : `${(a / b).toFixed(2)}x`).padStart(9);
const medTorch = torch ? median(samples.get(torch.variant)!) : undefined;
const medPlain = median(samples.get(variants[PLAIN]!)!);
const width = Math.max(...all.map((v) => v.label.length));

console.log(
  `clipGradNorm_ (L2, clipping active) on GPT-2 small: ${spec.shapes.length} tensors, ` +
    `${total.toLocaleString("en-US")} float32 (${((total * 4) / 1e6).toFixed(0)} MB); ` +
    `median of ${ROUNDS * ITERS} calls each, ${ROUNDS} interleaved rounds`,
);
console.log(`${"".padEnd(width)}    median  vs PyTorch  vs plain JS`);
for (const v of all) {
  const m = median(samples.get(v)!);
  console.log(`${v.label.padEnd(width)} ${fmt(m)} ${ratio(m, medTorch)}   ${ratio(m, medPlain)}`);
}
if (!torch) console.log("(PyTorch column skipped: see above)");
const best = median(samples.get(variants[0]!)!);
if (medTorch !== undefined) {
  console.log(`target <= 1.5x PyTorch: ${best / medTorch <= 1.5 ? "met" : "NOT met"} (${(best / medTorch).toFixed(2)}x)`);
}
console.log(
  `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load average ${loadBefore.toFixed(1)} before, ` +
    `${loadavg()[0]!.toFixed(1)} after: on a shared machine compare the ratios, not the times`,
);
console.log(`pre-clip norms vs tracked norms: max relative difference ${worstNormError.toExponential(1)} (clipping ran every call)`);
