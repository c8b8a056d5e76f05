import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs, { readFileSync, statSync, writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TensorBoardWriter, TensorBoardWriterError } from "../../src/tensorboard/index.js";
import { frameRecord, maskCrc, maskedCrc32c } from "../../src/tensorboard/record.js";
import { crc32c } from "../../src/tensorboard/vendor.js";
import { eventFiles, pythonReader, readEventFiles, sameFloat32, scalarsOf, tempLogdir } from "./helpers.js";

test("CRC-32C: the standard check value; TensorFlow's mask; TFRecord framing layout", () => {
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(maskCrc(0), 0xa282ead8);
  assert.equal(maskCrc(0xffffffff), 0xa282ead7); // rotation keeps all ones; + delta wraps mod 2^32
  assert.equal(maskCrc(0x00008000), 0xa282ead9); // bit 15 rotates to bit 0
  const data = new Uint8Array([1, 2, 3, 250]);
  const rec = frameRecord(data);
  const view = new DataView(rec.buffer);
  assert.equal(rec.length, 8 + 4 + 4 + 4);
  assert.equal(view.getBigUint64(0, true), 4n);
  assert.equal(view.getUint32(8, true), maskedCrc32c(rec.subarray(0, 8)));
  assert.deepEqual([...rec.subarray(12, 16)], [...data]);
  assert.equal(view.getUint32(16, true), maskCrc(crc32c(data)));
});

test("scalars read back by an independent reader: CRCs, tags, steps, float32 values, wall times, canonical bytes", (t) => {
  if (!pythonReader(t)) return;
  const dir = join(tempLogdir(t), "nested", "run");
  const before = Date.now() / 1000;
  const writer = new TensorBoardWriter(dir);
  const cases: [string, number, number, number?][] = [
    ["loss", 0.5, 0],
    ["loss", Math.PI, 1], // rounded to float32
    ["loss", 0, 2], // a oneof member: written even though it is proto3's default
    ["loss", -0, 3],
    ["loss", NaN, 4],
    ["loss", Infinity, 5],
    ["loss", -Infinity, 6],
    ["big", 3.4e38, 7],
    ["big", 1e39, 8], // beyond float32: Infinity
    ["tiny", 1e-45, 9], // float32 subnormal
    ["grad_norm/dense_Dense1/kernel", 1.25, 10],
    ["λ / ünïcode tag", 2, 11],
    ["steps", 1, Number.MAX_SAFE_INTEGER],
    ["steps", 2, -7],
    ["explicit time", 3, 12, 1_700_000_000.123456],
    ["explicit time", 4, 13, 0],
  ];
  for (const [tag, value, step, wallTime] of cases) writer.scalar(tag, value, step, wallTime);
  writer.close();
  const after = Date.now() / 1000;
  assert.equal(statSync(dir).isDirectory(), true, "the nested logdir was created");
  const [file] = readEventFiles([writer.path]);
  const first = file!.records[0]!;
  assert.equal(first.what, "file_version");
  assert.equal(first.file_version, "brain.Event:2");
  assert.equal(first.source_writer, "gradclip.tensorboard");
  assert.ok(
    Number(first.wall_time) >= before - 1e-3 && Number(first.wall_time) <= after + 1e-3,
    `first wall time ${first.wall_time}`,
  );
  const scalars = scalarsOf([file!]);
  assert.equal(scalars.length, cases.length);
  scalars.forEach((s, i) => {
    const [tag, value, step, wallTime] = cases[i]!;
    assert.equal(s.tag, tag);
    assert.equal(s.step, step);
    assert.ok(
      sameFloat32(s.value, value),
      `${tag}@${step}: read ${s.value.value} (bits ${s.value.bits}), wrote ${value}`,
    );
    if (wallTime === undefined)
      assert.ok(s.wallTime >= before - 1e-3 && s.wallTime <= after + 1e-3, `wall time ${s.wallTime}`);
    else assert.equal(s.wallTime, wallTime);
  });
  assert.equal(scalars[8]!.value.value, "inf");
  assert.equal(scalars[3]!.value.bits, 0x80000000, "-0 keeps its sign");
});

test("file name as TensorBoard's writer names it; filenameSuffix; exclusive creation never touches an existing file", (t) => {
  const dir = tempLogdir(t);
  const before = Math.floor(Date.now() / 1000);
  const a = new TensorBoardWriter(dir);
  const b = new TensorBoardWriter(dir, { filenameSuffix: ".v2" });
  const after = Math.floor(Date.now() / 1000);
  const pattern = new RegExp(
    `^events\\.out\\.tfevents\\.(\\d{10})\\.${hostname().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.${process.pid}\\.(\\d+)(\\.v2)?$`,
  );
  const ma = pattern.exec(basename(a.path)),
    mb = pattern.exec(basename(b.path));
  assert.ok(ma && mb, `${basename(a.path)} / ${basename(b.path)}`);
  assert.ok(Number(ma[1]) >= before && Number(ma[1]) <= after);
  assert.equal(mb[3], ".v2");
  assert.notEqual(a.path, b.path);
  // Files already holding the next names (this second and the next): a new writer must pick another name.
  const n = Number(mb[2]);
  const blockers: string[] = [];
  for (const s of [after, after + 1]) {
    for (let k = n + 1; k <= n + 3; k++)
      blockers.push(join(dir, `events.out.tfevents.${String(s).padStart(10, "0")}.${hostname()}.${process.pid}.${k}`));
  }
  for (const p of blockers) writeFileSync(p, "not ours");
  const c = new TensorBoardWriter(dir);
  assert.ok(!blockers.includes(c.path), c.path);
  for (const p of blockers) assert.equal(readFileSync(p, "utf8"), "not ours");
  for (const w of [a, b, c]) w.scalar("x", 1, 1);
  for (const w of [a, b, c]) w.close();
  assert.equal(eventFiles(dir).length, 3 + blockers.length);
});

test("several writers in one directory, interleaved: each file is whole and holds its own scalars", (t) => {
  if (!pythonReader(t)) return;
  const dir = tempLogdir(t);
  const writers = [0, 1, 2].map(() => new TensorBoardWriter(dir, { maxQueue: 2 }));
  for (let step = 0; step < 7; step++) writers.forEach((w, i) => w.scalar(`w${i}`, step * 10 + i, step));
  writers.forEach((w) => w.close());
  const files = readEventFiles(writers.map((w) => w.path));
  files.forEach((f, i) => {
    const s = scalarsOf([f]);
    assert.deepEqual(
      s.map((x) => x.tag),
      Array(7).fill(`w${i}`),
    );
    assert.deepEqual(
      s.map((x) => Number(x.value.value)),
      [0, 1, 2, 3, 4, 5, 6].map((step) => step * 10 + i),
    );
  });
});

test("queueing: maxQueue scalars per append, flush(), and a timed flush after flushMillis", async (t) => {
  const dir = tempLogdir(t);
  const w = new TensorBoardWriter(dir, { maxQueue: 3, flushMillis: 30 });
  const size = () => statSync(w.path).size;
  const header = size();
  assert.ok(header > 0, "the file_version event is written at once");
  w.scalar("a", 1, 1);
  w.scalar("a", 2, 2);
  assert.equal(size(), header);
  assert.equal(w.pending, 2);
  w.scalar("a", 3, 3);
  assert.equal(w.pending, 0);
  const afterThree = size();
  assert.ok(afterThree > header);
  w.scalar("a", 4, 4);
  w.flush();
  assert.equal(w.pending, 0);
  const afterFour = size();
  assert.ok(afterFour > afterThree);
  w.scalar("a", 5, 5);
  assert.equal(size(), afterFour);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(w.pending, 0, "written by the timer");
  assert.ok(size() > afterFour);
  w.close();
  assert.equal(w.closed, true);
});

test("bad arguments throw TypeError / RangeError before anything is queued", (t) => {
  const dir = tempLogdir(t);
  const w = new TensorBoardWriter(dir);
  w.scalar("ok", 1, 0);
  const bad: [() => void, ErrorConstructor, RegExp][] = [
    [
      () => w.scalar(undefined as unknown as string, 1, 0),
      TypeError,
      /TensorBoardWriter\.scalar: tag must be a string; got undefined/,
    ],
    [() => w.scalar("", 1, 0), RangeError, /tag must be a non-empty string/],
    [() => w.scalar("a\nb", 1, 0), RangeError, /control characters/],
    [() => w.scalar("nul\u0000", 1, 0), RangeError, /control characters/],
    [() => w.scalar("half \ud800 pair", 1, 0), RangeError, /unpaired UTF-16 surrogate/],
    [
      () => w.scalar("v", "1" as unknown as number, 0),
      TypeError,
      /value must be a number \(NaN and Infinity are allowed\); got "1"/,
    ],
    [() => w.scalar("v", 1n as unknown as number, 0), TypeError, /value must be a number/],
    [() => w.scalar("s", 1, 1.5), RangeError, /step must be an integer in/],
    [() => w.scalar("s", 1, NaN), RangeError, /step must be an integer/],
    [() => w.scalar("s", 1, Infinity), RangeError, /step must be an integer/],
    [() => w.scalar("s", 1, 2 ** 53), RangeError, /step must be an integer/],
    [() => w.scalar("s", 1, "3" as unknown as number), TypeError, /step must be an integer; got "3"/],
    [() => w.scalar("s", 1, 1, -1), RangeError, /wallTime must be a finite number of seconds >= 0/],
    [() => w.scalar("s", 1, 1, NaN), RangeError, /wallTime/],
    [() => w.scalar("s", 1, 1, "now" as unknown as number), TypeError, /wallTime must be a number/],
  ];
  for (const [call, type, message] of bad) {
    assert.throws(
      call,
      (e: unknown) =>
        e instanceof type && message.test((e as Error).message) && (e as Error).message.startsWith("gradclip: "),
      String(message),
    );
  }
  assert.equal(w.pending, 1, "only the good scalar is queued");
  w.close();
  assert.throws(() => new TensorBoardWriter(""), TypeError);
  assert.throws(() => new TensorBoardWriter(3 as unknown as string), /logdir must be a non-empty string/);
  assert.throws(
    () => new TensorBoardWriter(dir, { max_queue: 3 } as never),
    /unknown option "max_queue" \(did you mean maxQueue\?\)/,
  );
  assert.throws(() => new TensorBoardWriter(dir, { maxQueue: 0 }), RangeError);
  assert.throws(() => new TensorBoardWriter(dir, { maxQueue: 2.5 }), RangeError);
  assert.throws(() => new TensorBoardWriter(dir, { flushMillis: 0 }), RangeError);
  assert.throws(() => new TensorBoardWriter(dir, { flushMillis: Infinity }), RangeError);
  assert.throws(() => new TensorBoardWriter(dir, { flushMillis: 2 ** 31 }), /flushMillis must be at most 2147483647/);
  assert.throws(() => new TensorBoardWriter(dir, { filenameSuffix: "/x" }), RangeError);
  assert.throws(() => new TensorBoardWriter(dir, { filenameSuffix: 2 as unknown as string }), TypeError);
  assert.equal(eventFiles(dir).length, 1, "no file is created by a rejected constructor call");
});

test("logdir that is a file: TensorBoardWriterError naming it; writing after close: TensorBoardWriterError", (t) => {
  const dir = tempLogdir(t);
  const file = join(dir, "not-a-dir");
  writeFileSync(file, "x");
  assert.throws(
    () => new TensorBoardWriter(file),
    (e: unknown) =>
      e instanceof TensorBoardWriterError &&
      e.code === "EEXIST" &&
      /could not create the log directory .*not-a-dir.*a file is in the way/.test(e.message),
  );
  assert.throws(
    () => new TensorBoardWriter(join(file, "sub")),
    (e: unknown) => e instanceof TensorBoardWriterError && e.code === "ENOTDIR",
  );
  const w = new TensorBoardWriter(dir);
  w.close();
  w.close(); // idempotent
  w.flush(); // nothing to write
  assert.throws(
    () => w.scalar("a", 1, 1),
    (e: unknown) =>
      e instanceof TensorBoardWriterError &&
      e.code === "ERR_WRITER_CLOSED" &&
      /is closed; create a new TensorBoardWriter/.test(e.message),
  );
});

/** Replaces fs.writeSync (the ESM binding the writer imported too) for the duration of `body`. */
function withWriteSync(replacement: typeof fs.writeSync, body: () => void | Promise<void>): Promise<void> | void {
  const original = fs.writeSync;
  fs.writeSync = replacement;
  syncBuiltinESMExports();
  const restore = () => {
    fs.writeSync = original;
    syncBuiltinESMExports();
  };
  try {
    const r = body();
    if (r instanceof Promise) return r.finally(restore);
    restore();
  } catch (e) {
    restore();
    throw e;
  }
}

test("short writes: the writer loops until every byte is written", (t) => {
  if (!pythonReader(t)) return;
  const dir = tempLogdir(t);
  const w = new TensorBoardWriter(dir);
  const original = fs.writeSync;
  let calls = 0;
  withWriteSync(
    ((fd: number, buffer: Uint8Array, offset: number, length: number) => {
      calls++;
      return original(fd, buffer, offset, Math.min(length, 7));
    }) as typeof fs.writeSync,
    () => {
      for (let i = 0; i < 5; i++) w.scalar("short", i, i);
      w.close();
    },
  );
  assert.ok(calls > 10, `${calls} writeSync calls`);
  assert.deepEqual(
    scalarsOf(readEventFiles([w.path])).map((s) => Number(s.value.value)),
    [0, 1, 2, 3, 4],
  );
});

test("a failed write throws TensorBoardWriterError with the fs code, closes the writer, and keeps the file readable", async (t) => {
  const enospc = () => {
    throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  };
  const dir = tempLogdir(t);
  const w = new TensorBoardWriter(dir);
  w.scalar("kept", 1, 1);
  w.flush();
  const size = statSync(w.path).size;
  w.scalar("lost", 2, 2);
  withWriteSync(enospc as typeof fs.writeSync, () => {
    assert.throws(
      () => w.flush(),
      (e: unknown) =>
        e instanceof TensorBoardWriterError &&
        e.code === "ENOSPC" &&
        /1 scalars lost; the writer is now closed/.test(e.message),
    );
  });
  assert.equal(w.closed, true);
  assert.throws(
    () => w.scalar("after", 3, 3),
    (e: unknown) => e instanceof TensorBoardWriterError && e.code === "ENOSPC",
  );
  assert.equal(statSync(w.path).size, size);
  // A timed flush that fails: the error comes from the next call.
  const v = new TensorBoardWriter(dir, { flushMillis: 10 });
  v.scalar("x", 1, 1);
  await withWriteSync(enospc as typeof fs.writeSync, () => new Promise((r) => setTimeout(r, 80)));
  assert.throws(
    () => v.scalar("y", 2, 2),
    (e: unknown) => e instanceof TensorBoardWriterError && e.code === "ENOSPC",
  );
});

const CHILD = fileURLToPath(new URL("./fixtures/exit-child.ts", import.meta.url));

test("a process that exits without close() writes its queue; a killed one keeps every earlier flush", (t) => {
  if (!pythonReader(t)) return;
  for (const [mode, expected] of [
    ["exit", [1, 2]],
    ["kill", [1, 2]],
  ] as const) {
    const dir = tempLogdir(t);
    const r = spawnSync(process.execPath, ["--import", "tsx", CHILD, dir, mode], { encoding: "utf8" });
    if (mode === "exit") assert.equal(r.status, 0, r.stderr);
    else assert.equal(r.signal, "SIGKILL");
    const files = eventFiles(dir);
    assert.equal(files.length, 1);
    assert.deepEqual(
      scalarsOf(readEventFiles(files)).map((s) => Number(s.value.value)),
      expected,
      mode,
    );
  }
});

test("the independent reader's checks can fail: a flipped data byte or length byte is reported", (t) => {
  if (!pythonReader(t)) return;
  const dir = tempLogdir(t);
  const w = new TensorBoardWriter(dir);
  w.scalar("a", 1, 1);
  w.close();
  const bytes = readFileSync(w.path);
  const headerLength = Number(bytes.readBigUInt64LE(0)) + 16;
  const dataByte = Buffer.from(bytes);
  dataByte[headerLength + 12 + 2]! ^= 0x01; // inside the scalar event's data
  writeFileSync(w.path, dataByte);
  let [f] = readEventFiles([w.path]);
  assert.equal(f!.records[1]!.data_crc_ok, false);
  assert.equal(f!.records[1]!.length_crc_ok, true);
  assert.throws(() => scalarsOf([f!]), /bad CRC/);
  const lengthByte = Buffer.from(bytes);
  lengthByte[headerLength + 1]! ^= 0x01; // length 24 + 256: past the end of the file
  writeFileSync(w.path, lengthByte);
  [f] = readEventFiles([w.path]);
  assert.equal(f!.records.length, 1);
  assert.ok(f!.trailing_bytes > 0);
});
