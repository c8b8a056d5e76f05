import assert from "node:assert/strict";
import { test } from "node:test";
import { createProgress, timeLeft } from "../src/progress.js";

test("off a terminal: one line when training starts, one per tenth of the runs, with the time left", () => {
  const written: string[] = [];
  const stream = {
    isTTY: false,
    write: (s: string) => {
      written.push(s);
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  let now = 0;
  const bar = createProgress(stream, () => now).start(20, "20 runs");
  assert.deepEqual(written, ["training 20 runs\n"], "the start line comes before any run");
  now = 1000;
  bar.update(1);
  assert.equal(written.length, 1, "not every run gets a line");
  now = 2000;
  bar.update(2);
  assert.equal(written[1], "runs 2/20 done, 2 s, about 18 s left\n");
  for (let k = 3; k <= 20; k++) {
    now = k * 1000;
    bar.update(k);
  }
  bar.stop();
  assert.equal(written.length, 11, written.join(""));
  assert.equal(written.at(-1), "runs 20/20 done, 20 s\n", "the last line has no time left");
});

test("time left is extrapolated from the runs done", () => {
  assert.equal(timeLeft(10_000, 0, 10), null);
  assert.equal(timeLeft(10_000, 5, 10), "about 10 s left");
  assert.equal(timeLeft(60_000, 1, 10), "about 9 min left");
  assert.equal(timeLeft(10_000, 10, 10), null);
});
