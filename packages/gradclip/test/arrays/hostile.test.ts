/**
 * Issue 9 item 8: proxies, imitations and detached arrays in the core. Every
 * entry is checked before the first write; anything but a real
 * Float32Array/Float64Array is a TypeError naming the entry; a detached
 * array is a TypeError, not a norm of 0; the caller's getters, traps and
 * iterators that throw give a TypeError naming where, nothing modified.
 * Public API only, so each case also runs against the code before the fix.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { runInNewContext } from "node:vm";
import { clipGradNorm_, clipGradsWithNorm_, clipGradValue_, getTotalNorm, GradBuffer } from "../../src/index.js";
import { useWasmKernels, wasmKernelsForMemory } from "../../src/extend.js";

type Call = (grads: unknown) => unknown;

/** Each public core function, with arguments that would change `good` (values 30, -40; norm 50). */
const CALLS: Record<string, Call> = {
  getTotalNorm: (g) => getTotalNorm(g as never),
  clipGradNorm_: (g) => clipGradNorm_(g as never, 1),
  clipGradsWithNorm_: (g) => clipGradsWithNorm_(g as never, 1, 50),
  clipGradValue_: (g) => clipGradValue_(g as never, 1),
};

function detached(n = 4): Float32Array {
  const a = new Float32Array(n).fill(7);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

/** Subclass instances whose accessors lie: the built-in values must be used. */
class LyingLength extends Float32Array {
  override get length(): number {
    return 0;
  }
}

/** [what, the bad entry, what the message must say about it] */
function hostileEntries(): [string, unknown, RegExp][] {
  const revocable = Proxy.revocable({}, {});
  revocable.revoke();
  return [
    [
      "a Proxy of a Float32Array",
      new Proxy(Float32Array.of(5), {}),
      /entry 1 must be .*got a Proxy or imitation of a typed array \(pass the real Float32Array\/Float64Array itself\)/,
    ],
    ["a Proxy of a Float64Array", new Proxy(Float64Array.of(5), {}), /entry 1 must be .*imitation/],
    ["an object with Float64Array.prototype", Object.create(Float64Array.prototype), /entry 1 must be .*imitation/],
    [
      "a Proxy claiming Float64Array.prototype",
      new Proxy({}, { getPrototypeOf: () => Float64Array.prototype }),
      /entry 1 must be .*imitation/,
    ],
    [
      "a { grad } holding a Proxy",
      { grad: new Proxy(Float32Array.of(5), {}) },
      /the \.grad of entry 1 must be a Float32Array.*imitation/,
    ],
    ["a detached Float32Array", detached(), /entry 1 is a detached or out-of-bounds typed array/],
    ["a { grad } holding a detached array", { grad: detached() }, /the \.grad of entry 1 is a detached/],
    [
      "a { grad } whose getter throws",
      {
        get grad(): never {
          throw new Error("no grad");
        },
      },
      /reading the \.grad of entry 1 threw: no grad/,
    ],
    [
      "a Proxy whose has trap throws",
      new Proxy(
        {},
        {
          has() {
            throw new Error("trap");
          },
        },
      ),
      /reading the \.grad of entry 1 threw: trap/,
    ],
    ["a revoked Proxy", revocable.proxy, /entry 1/],
  ];
}

describe("a bad entry after a good one: TypeError naming the entry, the good one untouched", () => {
  for (const [fnName, call] of Object.entries(CALLS)) {
    for (const [what, bad, pattern] of hostileEntries()) {
      test(`${fnName}: ${what}`, () => {
        const good = Float32Array.of(30, -40);
        assert.throws(
          () => call([good, bad]),
          (e: unknown) => {
            assert.ok(e instanceof TypeError, `a TypeError, got ${String(e)}`);
            assert.ok(e.message.startsWith(`gradclip: ${fnName}: `), e.message);
            assert.match(e.message, pattern);
            return true;
          },
        );
        assert.deepEqual(Array.from(good), [30, -40], "the good gradient was modified");
      });
    }
  }
  test("the issue's example: clipGradValue_([good, new Proxy(Float32Array.of(5), {})], 1) throws before touching good", () => {
    const good = Float32Array.of(5, -5);
    assert.throws(
      () => clipGradValue_([good, new Proxy(Float32Array.of(5), {})], 1),
      /clipGradValue_: entry 1 must be/,
    );
    assert.deepEqual(Array.from(good), [5, -5]);
  });
});

describe("the same inputs on their own (not in a list)", () => {
  for (const [fnName, call] of Object.entries(CALLS)) {
    test(`${fnName}: a Proxy, an imitation, a detached array, a { grad } of each`, () => {
      const imitations = [
        new Proxy(Float32Array.of(5), {}),
        Object.create(Float32Array.prototype),
        new Proxy({}, { getPrototypeOf: () => Float32Array.prototype }),
      ];
      for (const bad of imitations) {
        assert.throws(
          () => call(bad),
          (e: unknown) =>
            e instanceof TypeError &&
            e.message.startsWith(`gradclip: ${fnName}: grads must be`) &&
            /imitation/.test(e.message),
        );
        assert.throws(
          () => call({ grad: bad }),
          (e: unknown) => e instanceof TypeError && /the \.grad of the parameter must be/.test(e.message),
        );
      }
      assert.throws(
        () => call(detached()),
        (e: unknown) => e instanceof TypeError && e.message.startsWith(`gradclip: ${fnName}: grads is a detached`),
      );
      assert.throws(() => call({ grad: detached() }), /the \.grad of the parameter is a detached/);
    });
  }
  test("a detached array no longer gives a norm of 0; an empty array still does", () => {
    assert.throws(() => getTotalNorm([detached()]), TypeError);
    assert.equal(getTotalNorm([new Float32Array(0), new Float64Array(0)]), 0);
    // Resizable buffers are ES2024 (in Node 20); typed here by hand for the ES2022 lib.
    const resizable = new (
      ArrayBuffer as unknown as new (
        n: number,
        o: { maxByteLength: number },
      ) => ArrayBuffer & { resize(n: number): void }
    )(16, { maxByteLength: 32 });
    const view = new Float32Array(resizable, 0, 4).fill(1);
    resizable.resize(8); // the fixed-length view is now out of bounds
    assert.throws(() => getTotalNorm(view), /out-of-bounds/);
    const tracking = new Float32Array(resizable); // follows the buffer's length: 2 elements
    tracking.fill(3);
    assert.equal(getTotalNorm(tracking, { normType: 1 }), 6);
  });
});

describe("real typed arrays that are unusual are fine, with their true contents", () => {
  test("a subclass instance is a real typed array; an overridden length is ignored", () => {
    const g = LyingLength.of(30, -40) as Float32Array;
    assert.equal(g.length, 0);
    assert.equal(getTotalNorm([g]), 50);
    clipGradValue_([g], 1);
    assert.deepEqual(Array.from(Float32Array.prototype.slice.call(g)), [1, -1]);
  });
  test("an own length / buffer / byteOffset property on a plain array is ignored", () => {
    const g = Float32Array.of(3, 4);
    Object.defineProperty(g, "length", { value: 1e9 });
    Object.defineProperty(g, "byteOffset", { value: 12345 });
    assert.equal(getTotalNorm(g), 5);
    assert.equal(clipGradNorm_(g, 1), 5);
    assert.ok(Math.abs(Math.hypot(g[0]!, g[1]!) - 1) < 1e-6);
  });
  test("a Float32Array whose prototype was swapped to Float64Array's is read as the Float32Array it is", () => {
    const g = Float32Array.of(3, 4);
    Object.setPrototypeOf(g, Float64Array.prototype);
    assert.equal(getTotalNorm([g]), 5);
  });
  test("a Float32Array from another realm (vm context, iframe) is a real one: read and clipped in place", () => {
    const foreign = runInNewContext("new Float32Array([30, -40])") as Float32Array;
    assert.equal(foreign instanceof Float32Array, false);
    assert.equal(clipGradNorm_([foreign], 5), 50);
    assert.ok(Math.abs(Math.hypot(foreign[0]!, foreign[1]!) - 5) < 1e-4);
  });
  test("a frozen list and frozen { grad } entries are read (only the arrays are written)", () => {
    const a = Float32Array.of(30, -40);
    const list = Object.freeze([Object.freeze({ grad: a }), Object.freeze(new Float32Array(0)), null]);
    assert.equal(clipGradNorm_(list, 5), 50);
    assert.ok(Math.abs(Math.hypot(a[0]!, a[1]!) - 5) < 1e-4);
  });
});

describe("the caller's iterables: errors typed, nothing modified", () => {
  test("an iterator that throws midway: TypeError naming the entry; the entries before it untouched", () => {
    const good = Float32Array.of(30, -40);
    function* gen(): Generator<Float32Array> {
      yield good;
      throw new Error("iterator failed");
    }
    assert.throws(
      () => clipGradValue_(gen(), 1),
      (e: unknown) => {
        assert.ok(e instanceof TypeError);
        assert.match(e.message, /^gradclip: clipGradValue_: iterating grads \(at entry 1\) threw: iterator failed/);
        assert.equal((e.cause as Error).message, "iterator failed");
        return true;
      },
    );
    assert.deepEqual(Array.from(good), [30, -40]);
  });
  test("a Symbol.iterator getter that throws, and one that is not a function", () => {
    const throwing = {
      get [Symbol.iterator](): never {
        throw new Error("no iterator");
      },
    };
    assert.throws(
      () => getTotalNorm(throwing as never),
      /getTotalNorm: reading grads\[Symbol.iterator\] threw: no iterator/,
    );
    assert.throws(() => getTotalNorm({ [Symbol.iterator]: 5 } as never), /getTotalNorm: grads must be/);
  });
  test("the iterator is closed when an entry is refused (as for-of does)", () => {
    let closed = false;
    const iterable = {
      [Symbol.iterator]() {
        let i = 0;
        return {
          next: () => ({ done: false, value: i++ === 0 ? Float32Array.of(1) : "bad" }),
          return: () => {
            closed = true;
            return { done: true, value: undefined };
          },
        };
      },
    };
    assert.throws(() => clipGradValue_(iterable as never, 1), /entry 1 must be/);
    assert.ok(closed);
  });
});

describe("GradBuffer, useWasmKernels, wasmKernelsForMemory: the same class of input", () => {
  test("useWasmKernels / wasmKernelsForMemory refuse a Proxy or imitation of a Memory with a TypeError naming the function", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const fakes = [new Proxy(memory, {}), Object.create(WebAssembly.Memory.prototype), { buffer: new ArrayBuffer(8) }];
    for (const fake of fakes) {
      assert.throws(
        () => useWasmKernels(fake as never),
        (e: unknown) =>
          e instanceof TypeError &&
          e.message.startsWith("gradclip: useWasmKernels: memory must be a WebAssembly.Memory"),
      );
      assert.throws(
        () => wasmKernelsForMemory(fake as never),
        (e: unknown) =>
          e instanceof TypeError && e.message.startsWith("gradclip: wasmKernelsForMemory: memory must be"),
      );
    }
  });
  test("the kernels of wasmKernelsForMemory check every array: no imitation, no detached view, no lying subclass", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    const k = wasmKernelsForMemory(memory);
    const view = new Float32Array(memory.buffer, 64, 8).fill(2);
    const neighbour = new Float32Array(memory.buffer, 1024, 8).fill(5);
    for (const bad of [new Proxy(view, {}), Object.create(Float32Array.prototype), [1, 2]]) {
      for (const run of [
        () => k.sumSquares(bad as never),
        () => k.maxAbs(bad as never),
        () => k.scale(bad as never, 0),
        () => k.clamp(bad as never, 0),
        () => k.sumPow(bad as never, 1),
      ]) {
        assert.throws(
          run,
          (e: unknown) =>
            e instanceof TypeError &&
            /^gradclip: wasmKernelsForMemory kernels: \w+: the array must be a real Float32Array/.test(e.message),
        );
      }
    }
    // A subclass whose byteOffset and length point at the neighbour: the built-in values are used.
    class Liar extends Float32Array {
      override get byteOffset(): number {
        return 1024;
      }
      override get length(): number {
        return 1000;
      }
    }
    const liar = new Liar(memory.buffer, 64, 8);
    k.scale(liar, 0.5);
    assert.deepEqual(Array.from(view), Array(8).fill(1));
    assert.deepEqual(Array.from(neighbour), Array(8).fill(5), "the neighbouring gradient was written");
    assert.throws(() => k.scale(view, "2" as never), /scale: c must be a number/);
    memory.grow(1);
    assert.throws(() => k.sumSquares(view), /detached or out-of-bounds/);
  });
  test("GradBuffer: shapes read once; hostile shapes and counts are typed errors", () => {
    assert.throws(() => new GradBuffer(5 as never), /GradBuffer: shapes must be an iterable/);
    assert.throws(() => new GradBuffer([Infinity]), RangeError);
    assert.throws(() => new GradBuffer([[2 ** 40, 2 ** 40]]), /more than 2\^53 - 1 elements/);
    assert.throws(() => new GradBuffer([[2 ** 53]]), RangeError);
    const throwing = {
      *[Symbol.iterator]() {
        yield 2;
        throw new Error("shape source failed");
      },
    };
    assert.throws(
      () => new GradBuffer(throwing),
      (e: unknown) =>
        e instanceof TypeError && /GradBuffer: iterating shapes threw: shape source failed/.test(e.message),
    );
    const shape = [2, 3];
    const buf = new GradBuffer([shape, -0]);
    assert.deepEqual(
      buf.grads.map((g) => g.length),
      [6, 0],
    );
    assert.ok(Object.isFrozen(buf.grads));
  });
});
