/**
 * The cpu and wasm paths (host memory, one pass into new storage, in place
 * only where the storage is provably exclusive; SIMD over the tfjs-wasm heap)
 * give the core's results bit for bit, never change a tensor or array the
 * user holds, survive the wasm heap growing under them, and leak nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as core from "../../src/index.js";
import { jsArrayKernels, type ArrayKernels } from "../../src/arrays/kernels.js";
import { boundKernels } from "../../src/arrays/wasm/memory-kernels.js";
import { clipGradNorm_, clipGradValue_, clipGradsWithNorm_ } from "../../src/tfjs/index.js";
import { cpuMemory, uninitializedFloat32 } from "../../src/tfjs/backends/cpu.js";
import { hostClipPath } from "../../src/tfjs/backends/host.js";
import { wasmHeapMemory, wasmMemory } from "../../src/tfjs/backends/wasm.js";
import { useMode, type Mode } from "./setup.js";
import { countReads } from "./training.js";
import { assertThrowsNoLeak, expectNoLeak, markMemory } from "../support/leaks.js";
import { seededRandom } from "../support/random.js";
import { assertSameBits } from "../support/tolerance.js";

const PS = [1, 2, 3, Infinity, 0.5];

/**
 * Gradient lists that stress the kernels: odd lengths around the SIMD block
 * (8), the staging threshold (4096) and chunk (16384); NaN and infinities in
 * the SIMD body and in the tail; float32 values near 1e20 and 3e38 (squares
 * overflow float32), near 1e-30 and subnormal (squares underflow it).
 */
function gradientCases(): { name: string; grads: Float32Array[] }[] {
  const r = seededRandom(7);
  const random = (n: number, scale = 1) => r.float32(n, scale);
  const withAt = (a: Float32Array, at: number, v: number) => {
    a[at] = v;
    return a;
  };
  return [
    { name: "odd lengths", grads: [1, 3, 7, 8, 9, 17, 4095, 4097, 16385].map((n) => random(n)) },
    { name: "a long tensor beside short ones", grads: [random(40_003, 10), random(5), random(2)] },
    { name: "NaN in the SIMD body", grads: [withAt(random(4099), 17, NaN), random(9)] },
    { name: "NaN in the tail", grads: [random(33), withAt(random(4097), 4096, NaN)] },
    { name: "+Infinity and -Infinity", grads: [withAt(random(4100), 3, Infinity), withAt(random(11), 10, -Infinity)] },
    {
      name: "huge: near 1e20 and 3e38",
      grads: [random(4101, 1e20), Float32Array.of(3e38, -3e38, 1e38), random(7, 1e30)],
    },
    {
      name: "tiny: near 1e-30 and subnormal",
      grads: [random(4103, 1e-30), Float32Array.of(1e-40, -1e-45, 1e-38, 0, -0)],
    },
    { name: "zeros and -0", grads: [new Float32Array(4096), Float32Array.of(-0, 0, -0)] },
  ];
}

function values(tensors: readonly tf.Tensor[]): Float32Array[] {
  return tensors.map((t) => t.dataSync() as Float32Array);
}

/**
 * Clips each case with gradclip/tfjs and with the core (on copies) and
 * compares norms and gradients bit for bit. With `shared`, every gradient's
 * storage is also held by another tensor (so nothing may be written in
 * place), which must keep its values.
 */
function compareWithCore(shared: boolean, what: string): void {
  for (const { name, grads } of gradientCases()) {
    for (const p of PS) {
      const copies = grads.map((g) => g.slice());
      const maxNorm = 0.25;
      const want = core.clipGradNorm_(copies, maxNorm, { normType: p });
      const tensors = grads.map((g) => tf.tensor(g));
      const aliases = shared ? tensors.map((t) => tf.reshape(t, t.shape)) : [];
      const n = clipGradNorm_(tensors, maxNorm, { normType: p });
      const ctx = `${what}, ${name}, p=${p}`;
      assert.ok(Object.is(n.dataSync()[0], Math.fround(want)), `${ctx}: norm ${n.dataSync()[0]} vs the core's ${want}`);
      values(tensors).forEach((v, i) => assertSameBits(v, copies[i]!, `${ctx}, gradient ${i}`));
      values(aliases).forEach((v, i) => assertSameBits(v, grads[i]!, `${ctx}, alias ${i} keeps the old values`));
      tf.dispose([n, ...tensors, ...aliases]);
    }
    for (const clipValue of [0, 0.3, 1e-30, 1e30]) {
      const copies = grads.map((g) => g.slice());
      core.clipGradValue_(copies, clipValue);
      const tensors = grads.map((g) => tf.tensor(g));
      const aliases = shared ? tensors.map((t) => tf.reshape(t, t.shape)) : [];
      clipGradValue_(tensors, clipValue);
      values(tensors).forEach((v, i) =>
        assertSameBits(v, copies[i]!, `${what}, ${name}, clipValue ${clipValue}, gradient ${i}`),
      );
      values(aliases).forEach((v, i) =>
        assertSameBits(v, grads[i]!, `${what}, ${name}, clipValue ${clipValue}, alias ${i}`),
      );
      tf.dispose([...tensors, ...aliases]);
    }
  }
}

for (const mode of ["cpu", "wasm"] as Mode[]) {
  for (const shared of [false, true]) {
    const kind = shared ? "storage shared with another tensor (new storage written)" : "storage not shared";
    test(`${mode}, ${kind}: norms and clipped gradients equal the core's bit for bit (p = ${PS.join(", ")})`, async (t) => {
      if ((await useMode(mode)) !== mode) {
        t.diagnostic(`skipped: backend ${mode} unavailable`);
        return;
      }
      expectNoLeak("no tensor or storage leaked", () => compareWithCore(shared, mode), { dataBuffers: true });
    });
  }
}

test("cpu: nothing is written in place: the user's array, an array read with dataSync() and a slice keep their values", async (t) => {
  if ((await useMode("cpu")) !== "cpu") {
    t.diagnostic("skipped: cpu unavailable");
    return;
  }
  const leakCheck = markMemory();
  const r = seededRandom(3);
  const mine = r.float32(5000, 10);
  const mineCopy = mine.slice();
  // A kernel's output (refCount 1, nothing else holds the tensor) whose array the user read with dataSync().
  const computed = tf.tidy(() => tf.mul(tf.tensor(mine.subarray(0, 4100)), 2));
  const seen = computed.dataSync();
  const seenCopy = seen.slice();
  // A contiguous slice: tfjs-cpu may store it as a view of its input's array.
  const whole = tf.tensor(r.float32(4104));
  const part = tf.slice(whole, [4], [4100]);
  const wholeCopy = whole.dataSync().slice();
  const grads = [tf.tensor(mine), computed, part];
  const n = clipGradNorm_(grads, 0.5);
  clipGradValue_(grads, 0.001);
  clipGradsWithNorm_(grads, 1, 1e6);
  assertSameBits(mine, mineCopy, "the array passed to tf.tensor");
  assertSameBits(seen, seenCopy, "the array dataSync() returned");
  assertSameBits(whole.dataSync(), wholeCopy, "the tensor a slice was taken from");
  assert.ok(
    grads.every((g) => g.dataSync().every((v) => Math.abs(v) <= 0.001)),
    "the gradients were clipped",
  );
  tf.dispose([n, whole, ...grads]);
  leakCheck.assertNoLeak();
});

test("host path: a kernel that throws leaves no half-written new tensor behind", async (t) => {
  if ((await useMode("cpu")) !== "cpu") {
    t.diagnostic("skipped: cpu unavailable");
    return;
  }
  const failing: ArrayKernels = {
    ...jsArrayKernels,
    scaleInto() {
      throw new Error("kernel failed");
    },
  };
  const k = hostClipPath("test", { ...cpuMemory(tf.backend())!, kernels: failing });
  const g = tf.tensor(new Float32Array(5000).fill(2));
  assertThrowsNoLeak(() => k.scale(g, 0.5, true), /kernel failed/, "the new tensor was disposed");
  assert.ok(
    g.dataSync().every((v) => v === 2),
    "the input is unchanged",
  );
  g.dispose();
});

test("cpu: new storage of 4096+ elements comes uninitialised, sized exactly; smaller arrays are plain", () => {
  const big = uninitializedFloat32(5000);
  assert.equal(big.length, 5000);
  assert.equal(big.byteOffset, 0);
  assert.equal(big.buffer.byteLength, 5000 * 4, "a buffer of its own, not a pool's slice");
  const small = uninitializedFloat32(10);
  assert.deepEqual(Array.from(small), Array(10).fill(0));
});

test("wasm: the path runs gradclip's SIMD kernels bound to the tfjs-wasm heap's WebAssembly.Memory", async (t) => {
  if ((await useMode("wasm")) !== "wasm") {
    t.diagnostic("skipped: wasm unavailable");
    return;
  }
  const backend = tf.backend();
  const memory = wasmHeapMemory(backend);
  assert.ok(memory instanceof WebAssembly.Memory, "the heap's memory is found");
  const heap = (backend as unknown as { wasm: { HEAPF32: Float32Array } }).wasm.HEAPF32;
  assert.equal(memory.buffer, heap.buffer, "it is the heap tfjs-wasm's tensors live in");
  const kernels = wasmMemory(backend)!.kernels;
  assert.equal(kernels, boundKernels(memory), "the SIMD kernels bound to it");
  assert.notEqual(kernels, jsArrayKernels);
});

test("wasm: tensors at heap offsets of every alignment the allocator gives are clipped exactly", async (t) => {
  if ((await useMode("wasm")) !== "wasm") {
    t.diagnostic("skipped: wasm unavailable");
    return;
  }
  const leakCheck = markMemory();
  const backend = tf.backend() as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } };
  const r = seededRandom(11);
  const grads = Array.from({ length: 40 }, (_, i) => r.float32(i + 1, 5));
  for (const shared of [false, true]) {
    const tensors = grads.map((g) => tf.tensor(g));
    const alignments = new Set(tensors.map((x) => backend.dataIdMap.get(x.dataId).memoryOffset % 16));
    assert.ok(alignments.size >= 2, `offsets mod 16 seen: ${[...alignments]} (a view not 16-byte aligned is covered)`);
    const aliases = shared ? tensors.map((x) => tf.reshape(x, x.shape)) : [];
    const copies = grads.map((g) => g.slice());
    const want = core.clipGradNorm_(copies, 1);
    const n = clipGradNorm_(tensors, 1);
    assert.ok(Object.is(n.dataSync()[0], Math.fround(want)));
    values(tensors).forEach((v, i) => assertSameBits(v, copies[i]!, `shared ${shared}, gradient ${i}`));
    tf.dispose([n, ...tensors, ...aliases]);
  }
  leakCheck.assertNoLeak();
});

test("wasm: the heap grows while new tensors are allocated in a call: results exact, the old views never used", async (t) => {
  if ((await useMode("wasm")) !== "wasm") {
    t.diagnostic("skipped: wasm unavailable");
    return;
  }
  const leakCheck = markMemory();
  const memory = wasmHeapMemory(tf.backend())!;
  // Gradients as large as the heap is now: the new tensors for them cannot fit without growing it.
  const elements = Math.max(1 << 20, memory.buffer.byteLength / 4 / 4) | 0;
  const r = seededRandom(5);
  const grads = Array.from({ length: 4 }, (_, i) => r.float32(elements + i));
  const tensors = grads.map((g) => tf.tensor(g));
  const aliases = tensors.map((x) => tf.reshape(x, x.shape)); // storage shared: results go to new tensors
  const copies = grads.map((g) => g.slice());
  const want = core.clipGradNorm_(copies, 0.5, { normType: 3 });
  const bufferBefore = memory.buffer;
  const n = clipGradNorm_(tensors, 0.5, { normType: 3 });
  assert.notEqual(memory.buffer, bufferBefore, "the heap grew during the call");
  assert.ok(Object.is(n.dataSync()[0], Math.fround(want)));
  values(tensors).forEach((v, i) => assertSameBits(v, copies[i]!, `gradient ${i}`));
  values(aliases).forEach((v, i) => assertSameBits(v, grads[i]!, `alias ${i} keeps the old values`));
  tf.dispose([n, ...tensors, ...aliases]);
  leakCheck.assertNoLeak();
});

for (const mode of ["cpu", "wasm"] as const) {
  test(`${mode}: a device coefficient is read once for all the tensors scaled, not once a tensor`, async () => {
    await useMode(mode);
    const grads = Array.from({ length: 12 }, (_, i) => tf.fill([3 + i], 2));
    const total = tf.scalar(10);
    const { reads } = countReads(() => clipGradsWithNorm_(grads, 1, total));
    assert.equal(reads, 1);
    const c = 1 / (10 + 1e-6);
    for (const g of grads) assert.ok(Math.abs(g.dataSync()[0]! - Math.fround(2 * Math.fround(c))) < 1e-7);
    tf.dispose([...grads, total]);
  });
}
