/**
 * What "in place" means for the tfjs functions, and what they do with
 * containers they cannot update: read-only containers, hostile getters and
 * Proxies, entries that change while being read, bad entries. Every error
 * must come before any change: same entries, none disposed, same values (on
 * wasm the scaling may reuse an input's storage), no tensor left over.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import vm from "node:vm";
import * as tf from "@tensorflow/tfjs-core";
import {
  clipGradNorm_,
  clipGradsWithNorm_,
  clipGradValue_,
  getTotalNorm,
  NonFiniteNormError,
} from "../../src/tfjs/index.js";
import { MODES, useMode } from "./setup.js";
import { markMemory } from "../support/leaks.js";
import { assertAllClose, float32Tol } from "../support/tolerance.js";

type InPlaceFn = "clipGradNorm_" | "clipGradsWithNorm_" | "clipGradValue_";
const IN_PLACE: InPlaceFn[] = ["clipGradNorm_", "clipGradsWithNorm_", "clipGradValue_"];

/** Calls `fn` on `grads` with thresholds that change [30, 40] (norm 50); disposes what it returns. */
function call(fn: InPlaceFn, grads: unknown): void {
  if (fn === "clipGradNorm_") tf.dispose(clipGradNorm_(grads as tf.Tensor[], 1));
  else if (fn === "clipGradsWithNorm_") clipGradsWithNorm_(grads as tf.Tensor[], 1, 50);
  else clipGradValue_(grads as tf.Tensor[], 0.5);
}

/** The values `fn` (via `call`) leaves in a gradient that was `[30, 40]` alone. */
function expectedAlone(fn: InPlaceFn): number[] {
  return fn === "clipGradValue_" ? [0.5, 0.5] : [30 / (50 + 1e-6), 40 / (50 + 1e-6)];
}

/** A snapshot of the tensors and their values, to check that nothing changed. */
function snapshot(tensors: tf.Tensor[]): () => void {
  const values = tensors.map((t) => Array.from(t.dataSync()));
  return () =>
    tensors.forEach((t, i) => {
      assert.ok(!t.isDisposed, `input ${i} not disposed`);
      assert.deepEqual(Array.from(t.dataSync()), values[i], `input ${i} keeps its values`);
    });
}

interface Hostile {
  name: string;
  /** The container, the input tensors, and a check that the container still holds them. */
  make(): { grads: unknown; inputs: tf.Tensor[]; holds(): void };
  message: RegExp;
}

const HOSTILE: Hostile[] = [
  {
    name: "a frozen NamedTensorMap",
    make() {
      const a = tf.tensor([30, 40]),
        b = tf.tensor([1, 2]);
      const grads = Object.freeze({ a, b });
      return {
        grads,
        inputs: [a, b],
        holds: () => {
          assert.equal(grads.a, a);
          assert.equal(grads.b, b);
        },
      };
    },
    message: /cannot replace gradient "a": grads is frozen\..*writable copy, e\.g\. const copy = \{ \.\.\.grads \}/,
  },
  {
    name: "a frozen array",
    make() {
      const a = tf.tensor([30, 40]);
      const grads = Object.freeze([a, null]);
      return { grads, inputs: [a], holds: () => assert.equal(grads[0], a) };
    },
    message: /cannot replace entry 0: grads is frozen\..*const copy = \[\.\.\.grads\]/,
  },
  {
    name: "a frozen { name, tensor } after a writable one (no half update)",
    make() {
      const a = tf.tensor([30, 40]),
        b = tf.tensor([1, 2]);
      const grads = [{ name: "a", tensor: a }, Object.freeze({ name: "b", tensor: b })];
      return {
        grads,
        inputs: [a, b],
        holds: () => {
          assert.equal(grads[0]!.tensor, a);
          assert.equal(grads[1]!.tensor, b);
        },
      };
    },
    message:
      /cannot replace entry 1 \("b"\): its \{ name, tensor \} object is frozen\..*grads\.map\(\(\{ name, tensor \}\) => \(\{ name, tensor \}\)\)/,
  },
  {
    name: "a getter-only entry",
    make() {
      const a = tf.tensor([30, 40]),
        b = tf.tensor([1, 2]);
      const grads = {
        b,
        get a() {
          return a;
        },
      };
      return {
        grads,
        inputs: [a, b],
        holds: () => {
          assert.equal(grads.a, a);
          assert.equal(grads.b, b);
        },
      };
    },
    message: /cannot replace gradient "a": it is a getter without a setter/,
  },
  {
    name: "a non-writable property of an extensible map",
    make() {
      const a = tf.tensor([30, 40]);
      const grads = Object.defineProperty({}, "a", {
        value: a,
        writable: false,
        enumerable: true,
      }) as tf.NamedTensorMap;
      return { grads, inputs: [a], holds: () => assert.equal(grads.a, a) };
    },
    message: /cannot replace gradient "a": it is a read-only property/,
  },
  {
    name: "a Proxy whose set trap refuses",
    make() {
      const a = tf.tensor([30, 40]);
      const target = [a];
      return { grads: new Proxy(target, { set: () => false }), inputs: [a], holds: () => assert.equal(target[0], a) };
    },
    message: /cannot replace entry 0: grads refused the write \(a Proxy or setter\)/,
  },
  {
    name: "a Proxy whose set trap throws",
    make() {
      const a = tf.tensor([30, 40]);
      const target = { a };
      const grads = new Proxy(target, {
        set() {
          throw new Error("locked");
        },
      });
      return { grads, inputs: [a], holds: () => assert.equal(target.a, a) };
    },
    message: /cannot replace gradient "a": writing it threw: locked/,
  },
  {
    // Like Vue's readonly(): the set trap reports success and keeps the old value.
    name: "a Proxy that ignores writes (found at the write, after the checks)",
    make() {
      const a = tf.tensor([30, 40]),
        b = tf.tensor([1, 2]);
      const target = { a, b };
      const grads = new Proxy(target, { set: () => true });
      return {
        grads,
        inputs: [a, b],
        holds: () => {
          assert.equal(target.a, a);
          assert.equal(target.b, b);
        },
      };
    },
    message: /cannot replace gradient "a": grads ignored the write/,
  },
  {
    // Accepts rewriting the current value (the check) but no other value: refused at the write.
    name: "a Proxy that only accepts no-op writes, on the second entry",
    make() {
      const a = tf.tensor([30, 40]),
        b = tf.tensor([1, 2]);
      const target: tf.Tensor[] = [a, b];
      const grads = new Proxy(target, {
        set(o, k, v) {
          if (k === "1" && v !== o[1]) return false;
          return Reflect.set(o, k, v);
        },
      });
      return {
        grads,
        inputs: [a, b],
        holds: () => {
          assert.equal(target[0], a);
          assert.equal(target[1], b);
        },
      };
    },
    message: /cannot replace entry 1: grads refused the write/,
  },
  {
    name: "a getter that throws",
    make() {
      const a = tf.tensor([30, 40]);
      const grads = {
        a,
        get b(): tf.Tensor {
          throw new Error("boom");
        },
      };
      return { grads, inputs: [a], holds: () => assert.equal(grads.a, a) };
    },
    message: /reading gradient "b" threw: boom/,
  },
  {
    name: "a Proxy whose ownKeys trap throws",
    make() {
      const a = tf.tensor([30, 40]);
      const target = { a };
      return {
        grads: new Proxy(target, {
          ownKeys() {
            throw new Error("no keys");
          },
        }),
        inputs: [a],
        holds: () => assert.equal(target.a, a),
      };
    },
    message: /listing the names in grads threw: no keys/,
  },
  {
    name: "an entry that returns another tensor on each read",
    make() {
      const a = tf.tensor([30, 40]),
        b = tf.tensor([3, 4]);
      let reads = 0;
      const grads = {
        get w() {
          return reads++ % 2 ? b : a;
        },
        set w(_v: tf.Tensor) {
          /* accepted, kept */
        },
      };
      return { grads, inputs: [a, b], holds: () => undefined };
    },
    message: /gradient "w" changed while .* read it \(it now holds a Tensor\)/,
  },
  {
    name: "a setter that changes another entry",
    make() {
      const a = tf.tensor([30, 40]),
        b = tf.tensor([3, 4]),
        c = tf.tensor([5]);
      const store: Record<string, tf.Tensor> = { a, b };
      const grads = Object.defineProperties({} as Record<string, tf.Tensor>, {
        a: {
          enumerable: true,
          get: () => store.a,
          set: (v: tf.Tensor) => {
            store.a = v;
            store.b = c;
          },
        },
        b: {
          enumerable: true,
          get: () => store.b,
          set: (v: tf.Tensor) => {
            store.b = v;
          },
        },
      });
      return { grads, inputs: [a, b, c], holds: () => undefined };
    },
    message: /gradient "b" changed while .* read it/,
  },
  {
    name: "two entries with the same name",
    make() {
      const a = tf.tensor([30, 40]),
        b = tf.tensor([1, 2]);
      const grads = [
        { name: "w", tensor: a },
        { name: "w", tensor: b },
      ];
      return {
        grads,
        inputs: [a, b],
        holds: () => {
          assert.equal(grads[0]!.tensor, a);
          assert.equal(grads[1]!.tensor, b);
        },
      };
    },
    message: /entries 0 and 1 have the same name "w"/,
  },
  {
    name: "an entry whose name is not a string",
    make() {
      const a = tf.tensor([30, 40]);
      const grads = [{ name: 7, tensor: a }];
      return { grads, inputs: [a], holds: () => assert.equal(grads[0]!.tensor, a) };
    },
    message: /entry 0 must be \{ name: string, tensor \}; its name is 7/,
  },
  {
    name: "an int32 gradient after a good one",
    make() {
      const a = tf.tensor([30, 40]),
        b = tf.tensor([1, 2], [2], "int32");
      const grads = [a, b];
      return {
        grads,
        inputs: [a, b],
        holds: () => {
          assert.equal(grads[0], a);
          assert.equal(grads[1], b);
        },
      };
    },
    message:
      /entry 1 must be a float32 tensor \(gradients are\); got dtype int32 \(cast it: tf\.cast\(g, "float32"\)\)/,
  },
  {
    name: "a bool gradient",
    make() {
      const a = tf.tensor([30, 40]),
        b = tf.tensor([1, 0], [2], "bool");
      const grads = { a, b };
      return {
        grads,
        inputs: [a, b],
        holds: () => {
          assert.equal(grads.a, a);
          assert.equal(grads.b, b);
        },
      };
    },
    message: /gradient "b" must be a float32 tensor .*got dtype bool/,
  },
  {
    name: "a disposed gradient after a good one",
    make() {
      const a = tf.tensor([30, 40]),
        dead = tf.tensor([1]);
      dead.dispose();
      const grads = [a, dead];
      return { grads, inputs: [a], holds: () => assert.equal(grads[0], a) };
    },
    message: /entry 1 is a disposed tensor/,
  },
  {
    // What a tensor of an unconnected tfjs engine looks like here: one whose data the engine does not hold.
    name: "a tensor this engine does not hold",
    make() {
      const a = tf.tensor([30, 40]);
      const Ctor = tf.Tensor as unknown as new (
        shape: number[],
        dtype: string,
        dataId: object,
        id: number,
      ) => tf.Tensor;
      const grads = [a, new Ctor([2], "float32", {}, -1)];
      return { grads, inputs: [a], holds: () => assert.equal(grads[0], a) };
    },
    message: /entry 1 is a tensor that this tfjs engine does not hold .*npm ls @tensorflow\/tfjs-core/,
  },
  {
    name: "an ES Map",
    make() {
      const a = tf.tensor([30, 40]);
      const grads = new Map([["a", a]]);
      return { grads, inputs: [a], holds: () => assert.equal(grads.get("a"), a) };
    },
    message: /grads must be .*; got a Map \(use Object\.fromEntries\(map\)\)/,
  },
  {
    // A forgotten await: read as a map it would have no gradients (norm 0, nothing clipped).
    name: "a Promise",
    make() {
      const a = tf.tensor([30, 40]);
      const grads = Promise.resolve({ a });
      return { grads, inputs: [a], holds: () => undefined };
    },
    message: /grads must be .*; got a Promise \(a Promise: await it first\)/,
  },
  {
    name: "a class instance",
    make() {
      const a = tf.tensor([30, 40]);
      class Holder {
        constructor(readonly w: tf.Tensor) {}
      }
      const grads = new Holder(a);
      return { grads, inputs: [a], holds: () => assert.equal(grads.w, a) };
    },
    message: /got a Holder \(a class instance: copy its gradients into a plain object, \{ \.\.\.grads \}\)/,
  },
  {
    name: "a getter that disposes an entry read before it",
    make() {
      const a = tf.tensor([30, 40]),
        b = tf.tensor([1, 2]);
      let stored = b;
      const grads = {
        a,
        get b() {
          a.dispose();
          return stored;
        },
        set b(v: tf.Tensor) {
          stored = v;
        },
      };
      return { grads, inputs: [b], holds: () => undefined };
    },
    message: /gradient "a" was disposed while .* read the container/,
  },
  {
    name: "a typed array",
    make() {
      return { grads: Float32Array.of(30, 40), inputs: [], holds: () => undefined };
    },
    message: /got a Float32Array \(a typed array: use the functions of "gradclip" itself\)/,
  },
];

for (const mode of MODES) {
  for (const h of HOSTILE) {
    test(`hostile container (${mode}): ${h.name}: TypeError naming the function and entry, nothing changed or leaked`, async (t) => {
      if (!(await useMode(mode))) {
        t.diagnostic(`skipped: backend ${mode} unavailable`);
        return;
      }
      for (const fn of IN_PLACE) {
        const leakCheck = markMemory();
        const { grads, inputs, holds } = h.make();
        const unchanged = snapshot(inputs);
        assert.throws(
          () => call(fn, grads),
          (e: unknown) => {
            assert.ok(e instanceof TypeError, `${fn}: a TypeError (got ${String(e)})`);
            assert.match(e.message, new RegExp(`^gradclip: ${fn}: `), `${fn}: names the function`);
            assert.match(e.message, h.message, fn);
            return true;
          },
        );
        holds();
        unchanged();
        tf.dispose(inputs);
        leakCheck.assertNoLeak(`${fn}: no tensor left over`);
      }
    });
  }

  test(`read-only containers (${mode}): getTotalNorm only reads, so it accepts them`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const leakCheck = markMemory();
    const a = tf.tensor([30, 40]),
      b = tf.tensor([0, 0]);
    for (const grads of [Object.freeze({ a, b }), Object.freeze([a, b]), [Object.freeze({ name: "a", tensor: a })]]) {
      const n = getTotalNorm(grads as tf.Tensor[]);
      assertAllClose(n.dataSync(), [50], float32Tol(1e-6), "norm");
      n.dispose();
    }
    tf.dispose([a, b]);
    leakCheck.assertNoLeak();
  });

  test(`sealed and non-extensible containers (${mode}): their entries can be replaced, so they are clipped`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    for (const fn of IN_PLACE) {
      const leakCheck = markMemory();
      const a = tf.tensor([30, 40]);
      const sealed = Object.seal({ a });
      const closed = Object.preventExtensions([tf.tensor([30, 40])]);
      const entry = Object.seal({ name: "a", tensor: tf.tensor([30, 40]) });
      call(fn, sealed);
      call(fn, closed);
      call(fn, [entry]);
      assert.ok(a.isDisposed, `${fn}: the old tensor is disposed`);
      for (const g of [sealed.a, closed[0]!, entry.tensor])
        assertAllClose(g.dataSync(), expectedAlone(fn), float32Tol(1e-6), fn);
      tf.dispose([sealed.a, closed[0]!, entry.tensor]);
      leakCheck.assertNoLeak(`${fn}: no tensor left over`);
    }
  });

  test(`a Proxy that allows writes (${mode}): updated through its traps`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const leakCheck = markMemory();
    const target: Record<string, tf.Tensor> = { a: tf.tensor([30, 40]) };
    let sets = 0;
    const grads = new Proxy(target, {
      set(o, k, v) {
        sets++;
        return Reflect.set(o, k, v);
      },
    });
    call("clipGradNorm_", grads);
    assert.ok(sets >= 1);
    assertAllClose(target.a!.dataSync(), expectedAlone("clipGradNorm_"), float32Tol(1e-6), "clipped");
    target.a!.dispose();
    leakCheck.assertNoLeak();
  });
}

for (const mode of MODES) {
  test(`single tensor (${mode}): updated itself, as PyTorch's clip_grad_norm_(tensor) is; the norm returned`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const leakCheck = markMemory();
    const g = tf.tensor([[30, 40]]);
    const n0 = getTotalNorm(g);
    assertAllClose(n0.dataSync(), [50], float32Tol(1e-6), "getTotalNorm of one tensor");
    const n = clipGradNorm_(g, 1);
    assertAllClose(n.dataSync(), [50], float32Tol(1e-6), "the pre-clip norm");
    assert.ok(!g.isDisposed, "the tensor is not disposed");
    assert.deepEqual(g.shape, [1, 2]);
    assertAllClose(
      g.dataSync(),
      [30 / (50 + 1e-6), 40 / (50 + 1e-6)],
      float32Tol(1e-6),
      "the tensor itself is clipped",
    );
    clipGradValue_(g, 0.7);
    assertAllClose(g.dataSync(), [30 / (50 + 1e-6), 0.7], float32Tol(1e-6), "clamped in place");
    clipGradsWithNorm_(g, 0.5, 1);
    assertAllClose(
      g.dataSync(),
      [(0.5 * 30) / (50 + 1e-6) / (1 + 1e-6), (0.5 * 0.7) / (1 + 1e-6)],
      float32Tol(1e-6),
      "scaled in place",
    );
    // Within the threshold: unchanged.
    const small = tf.tensor([0.3, 0.4]);
    const ns = clipGradNorm_(small, 1);
    assertAllClose(small.dataSync(), Float32Array.of(0.3, 0.4), float32Tol(0), "norm below maxNorm: unchanged");
    tf.dispose([n0, n, ns]);
    leakCheck.assertTensorDelta(2, "only the two gradients remain");
    tf.dispose([g, small]);
    leakCheck.assertNoLeak();
  });

  test(`single tensor (${mode}): other tensors sharing its storage, and the array it was made from, keep their values`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const leakCheck = markMemory();
    const arr = new Float32Array([30, 40]);
    const g = tf.tensor(arr);
    const view = tf.reshape(g, [2, 1]);
    tf.dispose(clipGradNorm_(g, 1));
    assertAllClose(g.dataSync(), [0.6, 0.8], float32Tol(1e-6), "clipped");
    assert.deepEqual(Array.from(view.dataSync()), [30, 40], "a view keeps the old values (tensors are values)");
    assert.deepEqual(Array.from(arr), [30, 40], "the source array is not written");
    tf.dispose([g, view]);
    leakCheck.assertNoLeak();
  });

  test(`single tensor (${mode}): a tf.Variable is updated as by assign; errors leave the tensor as it was`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const leakCheck = markMemory();
    const init = tf.tensor([30, 40]);
    const v = tf.variable(init);
    init.dispose();
    const n = clipGradNorm_(v, 1);
    assertAllClose(v.dataSync(), [0.6, 0.8], float32Tol(1e-6), "variable clipped");
    assert.ok(!v.isDisposed);
    const nan = tf.tensor([1, NaN]);
    assert.throws(() => clipGradNorm_(nan, 1, { errorIfNonfinite: true }), NonFiniteNormError);
    assert.ok(Number.isNaN(nan.dataSync()[1]!) && nan.dataSync()[0] === 1, "unchanged on error");
    assert.throws(() => clipGradNorm_(v, -1), /^RangeError: gradclip: clipGradNorm_: maxNorm must be a number >= 0/);
    assert.throws(() => clipGradValue_(v, NaN), /^RangeError: gradclip: clipGradValue_: clipValue must be/);
    assert.throws(
      () => clipGradsWithNorm_(v, 1, v as unknown as tf.Scalar),
      /clipGradsWithNorm_: totalNorm must be a tf.Scalar \(rank 0\)/,
    );
    assertAllClose(v.dataSync(), [0.6, 0.8], float32Tol(1e-6), "variable unchanged by the failed calls");
    tf.dispose([n, nan, v]);
    leakCheck.assertNoLeak();
  });

  test(`single tensor (${mode}): refused while tfjs records gradients (the tape would see new values)`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const leakCheck = markMemory();
    const x = tf.tensor([3, 4]);
    let message = "";
    // (tfjs-core alone registers no gradients: the recorded op brings its own.)
    const sumOfSquares = tf.customGrad(((y: tf.Tensor) => ({
      value: tf.sum(tf.mul(y, y)),
      gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.mul(y, 2)),
    })) as unknown as Parameters<typeof tf.customGrad>[0]);
    const dx = tf.grad((y: tf.Tensor) => {
      const z = tf.mul(y, 1);
      try {
        clipGradValue_(z, 1);
      } catch (e) {
        message = (e as Error).message;
      }
      z.dispose();
      return sumOfSquares(y) as tf.Scalar;
    })(x);
    assert.match(message, /^gradclip: clipGradValue_: cannot update a tensor in place while tfjs records gradients/);
    assert.deepEqual(Array.from(dx.dataSync()), [6, 8], "the gradient is the unclipped computation's");
    tf.dispose([x, dx]);
    leakCheck.assertNoLeak();
  });
}

for (const mode of MODES) {
  test(`unusual but valid gradients (${mode}): empty and scalar tensors, a "__proto__" name, a map from another realm`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const leakCheck = markMemory();
    const map = Object.defineProperty({}, "__proto__", {
      value: tf.tensor([30, 40]),
      enumerable: true,
      writable: true,
    }) as tf.NamedTensorMap;
    const other = vm.runInNewContext("({})") as tf.NamedTensorMap;
    other.w = tf.tensor([30, 40]);
    const list = [tf.tensor([]), tf.scalar(-3)];
    for (const fn of IN_PLACE) {
      for (const g of [map, other, list]) call(fn, g);
      assert.equal(list[0]!.size, 0);
      assert.deepEqual(list[1]!.shape, []);
    }
    // clipGradNorm_ to norm 1, then clipGradsWithNorm_(1, 50) scales by 1 / 50; the clamp at 0.5 changes nothing.
    const after = expectedAlone("clipGradNorm_").map((x) => x / (50 + 1e-6));
    assertAllClose(
      map["__proto__"]!.dataSync(),
      after,
      float32Tol(1e-6),
      'the "__proto__" gradient, after the three calls',
    );
    assertAllClose(other.w!.dataSync(), after, float32Tol(1e-6), "the other realm's map, after the three calls");
    assertAllClose(
      list[1]!.dataSync(),
      [-3 / (3 + 1e-6) / (50 + 1e-6)],
      float32Tol(1e-6),
      "the scalar, after the three calls",
    );
    assert.equal(Object.getPrototypeOf(map), Object.prototype, "the prototype is not touched");
    const n = getTotalNorm(list);
    assertAllClose(n.dataSync(), [3 / (3 + 1e-6) / (50 + 1e-6)], float32Tol(1e-6), "norm with an empty tensor");
    tf.dispose([n, map["__proto__"]!, other.w!, ...list]);
    leakCheck.assertNoLeak();
  });
}

test("clipGradsWithNorm_: totalNorm must be a float32 scalar that is not one of the gradients", async () => {
  await useMode("cpu");
  const leakCheck = markMemory();
  const g = tf.tensor([30, 40]),
    n = tf.scalar(50);
  const grads = [g, n];
  const unchanged = snapshot([g, n]);
  assert.throws(
    () => clipGradsWithNorm_(grads, 1, n),
    /^TypeError: gradclip: clipGradsWithNorm_: totalNorm is also one of the gradients/,
  );
  assert.throws(() => clipGradsWithNorm_(n, 1, n), /totalNorm is also one of the gradients/);
  const int = tf.scalar(50, "int32");
  assert.throws(
    () => clipGradsWithNorm_(grads, 1, int),
    /^TypeError: gradclip: clipGradsWithNorm_: totalNorm must be a float32 tf.Scalar; got dtype int32/,
  );
  assert.throws(
    () => clipGradsWithNorm_(grads, 1, -1),
    /^RangeError: gradclip: clipGradsWithNorm_: totalNorm is a norm/,
  );
  const Ctor = tf.Tensor as unknown as new (shape: number[], dtype: string, dataId: object, id: number) => tf.Scalar;
  assert.throws(
    () => clipGradsWithNorm_(grads, 1, new Ctor([], "float32", {}, -1)),
    /^TypeError: gradclip: clipGradsWithNorm_: totalNorm is a tensor that this tfjs engine does not hold/,
  );
  assert.throws(
    () => clipGradsWithNorm_(grads, 1, "5" as unknown as number),
    /^TypeError: gradclip: clipGradsWithNorm_: totalNorm must be a number or a tf.Scalar/,
  );
  unchanged();
  assert.equal(grads[0], g);
  tf.dispose([g, n, int]);
  leakCheck.assertNoLeak();
});

test("wasm: an exclusive gradient is clipped in its own storage (the aliases do not cost a copy)", async (t) => {
  if ((await useMode("wasm")) !== "wasm") {
    t.diagnostic("skipped: wasm unavailable");
    return;
  }
  const leakCheck = markMemory();
  const a = tf.tensor([30, 40]),
    b = tf.tensor([1, 2]);
  const storage = [a.dataId, b.dataId];
  const grads = { a, b };
  tf.dispose(clipGradNorm_(grads, 1));
  clipGradValue_(grads, 0.1);
  assert.deepEqual([grads.a.dataId, grads.b.dataId], storage, "same storage, written in place");
  const single = tf.tensor([3, 4]);
  const own = single.dataId;
  clipGradValue_(single, 1);
  assert.equal(single.dataId, own, "a single tensor too");
  assert.deepEqual(Array.from(single.dataSync()), [1, 1]);
  tf.dispose([grads.a, grads.b, single]);
  leakCheck.assertNoLeak();
});
