/** The leak checks of ./leaks.ts fail on a leak (tensors, bytes, storage, around throwing code) and pass without one. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { assertSteadyMemory, assertThrowsNoLeak, expectNoLeak, expectNoLeakAsync, markMemory } from "./leaks.js";

const leaked: tf.Tensor[] = [];
/** Makes a tensor and keeps it alive (a leak), to be disposed at the end of the test. */
const leak = (shape: number[] = [2]) => {
  const t = tf.zeros(shape);
  leaked.push(t);
  return t;
};
const cleanUp = () => tf.dispose(leaked.splice(0));

test("markMemory: assertNoLeak passes when everything made was disposed, fails naming the counts on a leak", async () => {
  await tf.setBackend("cpu");
  const clean = markMemory();
  tf.tensor([1, 2]).dispose();
  clean.assertNoLeak("clean");
  const leaky = markMemory();
  leak();
  assert.throws(
    () => leaky.assertNoLeak("leaky"),
    (e: unknown) =>
      e instanceof assert.AssertionError && /^leaky: numTensors (\d+) -> (\d+), numBytes \d+ -> \d+$/.test(e.message),
  );
  assert.equal(leaky.tensorDelta(), 1);
  leaky.assertTensorDelta(1, "one more");
  assert.throws(() => leaky.assertTensorDelta(0, "none more"), /none more: numTensors \d+ -> \d+, expected \+0/);
  cleanUp();
});

test("markMemory: a tensor swapped for a larger one is a leak of bytes, unless bytes are not compared", async () => {
  await tf.setBackend("cpu");
  const small = tf.zeros([2]);
  const mark = markMemory();
  small.dispose();
  const big = leak([1000]);
  assert.throws(() => mark.assertNoLeak("swapped"), /swapped: numBytes \d+ -> \d+$/);
  mark.assertNoLeak("count only", { bytes: false });
  assert.ok(!big.isDisposed);
  cleanUp();
});

test("expectNoLeak: returns the result; a leak fails; a throwing fn that leaks fails naming the error; one that does not rethrows it", async () => {
  await tf.setBackend("cpu");
  assert.equal(
    expectNoLeak("clean", () => tf.tidy(() => tf.sum(tf.ones([3])).dataSync()[0])),
    3,
  );
  assert.throws(() => expectNoLeak("leaky", () => leak()), /leaky: numTensors/);
  assert.throws(
    () =>
      expectNoLeak("leaky throw", () => {
        leak();
        throw new RangeError("boom");
      }),
    (e: unknown) =>
      e instanceof assert.AssertionError &&
      /leaky throw: numTensors .* \(and it threw: RangeError: boom\)/.test(e.message),
  );
  assert.throws(
    () =>
      expectNoLeak("clean throw", () => {
        tf.ones([2]).dispose();
        throw new RangeError("boom");
      }),
    RangeError,
  );
  await assert.rejects(
    expectNoLeakAsync("leaky async", async () => {
      await Promise.resolve();
      leak();
    }),
    /leaky async: numTensors/,
  );
  await assert.rejects(
    expectNoLeakAsync("leaky async throw", async () => {
      leak();
      throw new TypeError("late");
    }),
    /\(and it threw: TypeError: late\)/,
  );
  assert.equal(await expectNoLeakAsync("clean async", async () => 7), 7);
  // Storage shared by two tensors: one tensor disposed, the other leaked, is caught by the tensor count.
  const data = tf.ones([4]);
  assert.throws(
    () =>
      expectNoLeak(
        "view",
        () => {
          leaked.push(tf.reshape(data, [2, 2]));
        },
        { dataBuffers: true },
      ),
    /view: numTensors/,
  );
  data.dispose();
  cleanUp();
});

test("assertThrowsNoLeak: the error is checked as assert.throws checks it, and a tensor left behind by the throwing code fails", async () => {
  await tf.setBackend("cpu");
  assertThrowsNoLeak(
    () => {
      tf.ones([2]).dispose();
      throw new RangeError("bad");
    },
    RangeError,
    "clean",
  );
  assert.throws(
    () =>
      assertThrowsNoLeak(
        () => {
          leak();
          throw new RangeError("bad");
        },
        RangeError,
        "leaky",
      ),
    /leaky: numTensors .* after the error/,
  );
  assert.throws(() => assertThrowsNoLeak(() => 1, RangeError, "no throw"), /no throw/);
  assert.throws(
    () =>
      assertThrowsNoLeak(
        () => {
          throw new TypeError("other");
        },
        RangeError,
        "wrong class",
      ),
    /wrong class/,
  );
  cleanUp();
});

test("assertSteadyMemory: warm-up rounds may allocate once; a round that keeps a tensor fails", async () => {
  await tf.setBackend("cpu");
  let cache: tf.Tensor | null = null;
  const seen: number[] = [];
  await assertSteadyMemory("cached once", 5, (i) => {
    seen.push(i);
    cache ??= tf.ones([3]);
    tf.ones([3]).dispose();
  });
  assert.deepEqual(seen, [-2, -1, 0, 1, 2, 3, 4]);
  cache!.dispose();
  await assert.rejects(
    assertSteadyMemory("one per round", 3, () => {
      leak();
    }),
    /one per round: after 3 rounds \(settled after 2\): numTensors (\d+) -> (\d+)/,
  );
  await assert.rejects(
    assertSteadyMemory(
      "async leak",
      2,
      async () => {
        await Promise.resolve();
        leak();
      },
      { warmup: 1 },
    ),
    /settled after 1/,
  );
  cleanUp();
});
