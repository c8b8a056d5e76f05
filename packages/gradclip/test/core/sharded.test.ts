/**
 * Sharded norms over Node worker_threads: the GPT-2-small shapes
 * (../shared/bench/gpt2-small-shapes.json, 148 tensors) split across 4
 * workers that share one SharedArrayBuffer; each worker sends its norm
 * part as JSON, every worker combines all parts and clips its own tensors.
 * Checked against single-process clipGradNorm_ on a copy of the same data:
 * norms within 1e-12 relative, gradients bit for bit where the float32
 * coefficients are equal, for p = 1, 2, 3 and inf, with values near 1 and
 * near 1e20 (where float32 sums of squares overflow).
 *
 * Data volume: every shape's first dimension is divided by SCALE (rounded
 * up), so the 148 tensors keep their rank, trailing dimensions and order
 * (7.8M floats instead of 124M), to keep the test to a few seconds.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { clipCoefficient, clipGradNorm_, combineNormParts, type NormPart, type NormType } from "../../src/index.js";
import type { ShardRequest } from "./shard-worker.js";

const SCALE = 16;
const WORKERS = 4;
const SHAPES = fileURLToPath(new URL("../../../../../shared/bench/gpt2-small-shapes.json", import.meta.url));

/** A worker running shard-worker.ts through tsx (workers do not inherit the --import loader). */
function startWorker(data: { buffer: SharedArrayBuffer; tensors: [number, number][] }): Worker {
  const api = import.meta.resolve("tsx/esm/api");
  const script = new URL("./shard-worker.ts", import.meta.url).href;
  const source = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(script)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), { workerData: data });
}

/** Sends one request to every worker and waits for every reply. */
function ask<T>(workers: Worker[], request: ShardRequest): Promise<T[]> {
  return Promise.all(
    workers.map(
      (w) =>
        new Promise<T>((resolve, reject) => {
          const onError = (e: Error) => reject(e);
          w.once("error", onError);
          w.once("message", (m: T) => {
            w.off("error", onError);
            resolve(m);
          });
          w.postMessage(request);
        }),
    ),
  );
}

const haveShapes = existsSync(SHAPES);

describe(
  "sharded norms over 4 worker_threads (GPT-2-small shapes)",
  { skip: haveShapes ? false : `${SHAPES} not found` },
  () => {
    let shapes: number[][] = [];
    const offsets: number[] = [];
    let total = 0;
    let shared: Float32Array;
    let workers: Worker[] = [];

    before(() => {
      const spec = JSON.parse(readFileSync(SHAPES, "utf8")) as { shapes: { shape: number[] }[] };
      shapes = spec.shapes.map(({ shape }) => [Math.ceil(shape[0]! / SCALE), ...shape.slice(1)]);
      for (const s of shapes) {
        offsets.push(total);
        total += s.reduce((a, b) => a * b, 1);
      }
      shared = new Float32Array(new SharedArrayBuffer(total * 4));
      // Contiguous runs of tensors with about equal element counts (pipeline-stage style).
      const owned: [number, number][][] = Array.from({ length: WORKERS }, () => []);
      shapes.forEach((_, i) => {
        const length = (offsets[i + 1] ?? total) - offsets[i]!;
        const w = Math.min(WORKERS - 1, Math.floor((offsets[i]! + length / 2) / (total / WORKERS)));
        owned[w]!.push([offsets[i]!, length]);
      });
      assert.ok(
        owned.every((o) => o.length > 0),
        "every worker owns tensors",
      );
      assert.equal(owned.flat().length, 148);
      workers = owned.map((tensors) => startWorker({ buffer: shared.buffer as SharedArrayBuffer, tensors }));
    });

    after(async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    });

    /** Values ±[0.5, 1.5) · magnitude (xorshift), as float32. */
    function fill(target: Float32Array, magnitude: number): void {
      let seed = 0x9e3779b9;
      for (let i = 0; i < target.length; i++) {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        target[i] = (seed & 1 ? 1 : -1) * (0.5 + (seed >>> 8) / 2 ** 24) * magnitude;
      }
    }

    const views = (a: Float32Array) => shapes.map((_, i) => a.subarray(offsets[i]!, offsets[i + 1] ?? total));

    for (const magnitude of [1, 1e20]) {
      for (const normType of [1, 2, 3, "inf"] as NormType[]) {
        test(`p = ${normType}, values near ${magnitude}`, async (t) => {
          fill(shared, magnitude);
          const single = Float32Array.from(shared);
          const p = normType === "inf" ? Infinity : normType;
          const parts = (await ask<string>(workers, { cmd: "part", normType })).map((s) => JSON.parse(s) as NormPart);
          // Clipping active: maxNorm a quarter of the norm.
          const maxNorm = combineNormParts(parts) / 4;
          const norm = clipGradNorm_(views(single), maxNorm, { normType });
          if (magnitude === 1e20 && (p === 2 || p === 3))
            assert.ok(norm ** p > 3.4e38, "float32 sums of |g|^p overflow here");
          const totals = await ask<number>(workers, { cmd: "clip", parts: JSON.stringify(parts), maxNorm });
          assert.ok(
            totals.every((x) => x === totals[0]),
            "every worker combined the same total",
          );
          const rel = Math.abs(totals[0]! - norm) / norm;
          assert.ok(rel <= 1e-12, `sharded ${totals[0]} vs single ${norm} (relative ${rel})`);
          t.diagnostic(`norm ${norm}, sharded ${totals[0]}, relative difference ${rel.toExponential(1)}`);

          const a = new Uint32Array(single.buffer),
            b = new Uint32Array(shared.buffer);
          if (Math.fround(clipCoefficient(maxNorm, totals[0]!)) === Math.fround(clipCoefficient(maxNorm, norm))) {
            let diff = 0;
            for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
            assert.equal(diff, 0, "gradients bit for bit");
            t.diagnostic("float32 coefficients equal: gradients bit for bit");
          } else {
            t.diagnostic("float32 coefficients differ: gradients within 1 ulp");
            for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1, `element ${i} within 1 ulp`);
          }
        });
      }
    }
  },
);
