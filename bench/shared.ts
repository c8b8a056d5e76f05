/**
 * Pieces the benchmarks share (not a benchmark itself: bench/run.ts runs
 * only *.bench.ts): the PyTorch driver, medians, the GPT-2-small shapes, and
 * this machine's memory bandwidth.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { ArrayKernels } from "../packages/gradclip/src/arrays/kernels.js";
import { wasmKernelsForMemory } from "../packages/gradclip/src/arrays/wasm/memory-kernels.js";

export const SHAPES = fileURLToPath(new URL("../../shared/bench/gpt2-small-shapes.json", import.meta.url));
const TORCH_SCRIPT = fileURLToPath(new URL("./torch_clip.py", import.meta.url));

export interface ShapeSpec {
  shapes: { name: string; shape: number[] }[];
  elements: number;
}

/** The GPT-2-small shapes file, or null (with the reason printed) when ../shared is missing. */
export function readShapes(): ShapeSpec | null {
  if (!existsSync(SHAPES)) {
    console.log(`skipped: ${SHAPES} not found (the shared/ folder sits beside the repository).`);
    return null;
  }
  return JSON.parse(readFileSync(SHAPES, "utf8")) as ShapeSpec;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface Variant {
  label: string;
  /** Runs `iters` timed calls; returns their times in ms. */
  run(iters: number): Promise<number[]>;
}

export interface TorchWorker {
  label: string;
  variant: Variant;
  stop(): void;
}

/**
 * Starts bench/torch_clip.py on the shapes whose names start with `prefix`
 * (all by default); resolves to null (with the reason printed) when torch is
 * unavailable.
 */
export async function startTorch(python: string, prefix = ""): Promise<TorchWorker | null> {
  let child: ChildProcessWithoutNullStreams;
  try {
    const args = prefix ? [TORCH_SCRIPT, SHAPES, prefix] : [TORCH_SCRIPT, SHAPES];
    child = spawn(python, args, { stdio: ["pipe", "pipe", "pipe"] });
  } catch (e) {
    console.log(`PyTorch column skipped: cannot start ${python} (${(e as Error).message}).`);
    return null;
  }
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
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

/**
 * This machine's memory bandwidth as gradclip's WebAssembly SIMD kernels see
 * it: one read pass (Σx², the norm's pass) and one scale pass (x ← x · c in
 * place: a read and a write) over a float32 buffer of `elements` (GPT-2
 * small's 124M: 498 MB), far larger than any cache. `round()` times one of
 * each, so it can be interleaved with the variants measured against it.
 */
export class BandwidthProbe {
  readonly bytes: number;
  readonly reads: number[] = [];
  readonly scales: number[] = [];
  private readonly data: Float32Array;
  private readonly kernels: ArrayKernels;
  private flip = false;

  constructor(elements: number) {
    this.bytes = elements * 4;
    const memory = new WebAssembly.Memory({ initial: Math.ceil(this.bytes / 65536) });
    this.kernels = wasmKernelsForMemory(memory);
    this.data = new Float32Array(memory.buffer, 0, elements);
    for (let i = 0; i < elements; i++) this.data[i] = 1 + (i % 251) / 256;
  }

  /** One read pass and one scale pass, timed (ms each). */
  round(): void {
    let t = performance.now();
    this.kernels.sumSquares(this.data);
    this.reads.push(performance.now() - t);
    // Alternating exact powers of two: the values never drift.
    this.flip = !this.flip;
    t = performance.now();
    this.kernels.scale(this.data, this.flip ? 2 : 0.5);
    this.scales.push(performance.now() - t);
  }

  /** Median GB/s of the read pass (bytes read) and of the scale pass (bytes read + written). */
  rates(): { readGBs: number; scaleGBs: number } {
    return { readGBs: this.bytes / 1e6 / median(this.reads), scaleGBs: (2 * this.bytes) / 1e6 / median(this.scales) };
  }

  /**
   * The time a clip of `elements` float32 takes at this bandwidth: one read
   * pass for the norm and one scale pass (in place, or its out-of-place twin:
   * the same bytes read and written), scaled from the medians.
   */
  boundMs(elements: number): number {
    return ((median(this.reads) + median(this.scales)) * elements * 4) / this.bytes;
  }

  describe(): string {
    const { readGBs, scaleGBs } = this.rates();
    return (
      `memory bandwidth (WebAssembly SIMD over a ${(this.bytes / 1e6).toFixed(0)} MB buffer, median of ${this.reads.length}): ` +
      `read pass ${median(this.reads).toFixed(1)} ms = ${readGBs.toFixed(1)} GB/s, ` +
      `scale pass ${median(this.scales).toFixed(1)} ms = ${scaleGBs.toFixed(1)} GB/s (read + write)`
    );
  }
}
