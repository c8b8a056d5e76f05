/** Shared by the TensorBoard tests: temporary log directories, event files in a run, the python reader's skip. */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import {
  float32Bits,
  pythonReaderUnavailable,
  readEventFiles,
  type ReadFile,
  type ReadValue,
} from "./python-reader.js";

export { float32Bits, readEventFiles, type ReadFile, type ReadValue };

/** A fresh directory, removed after the test. */
export function tempLogdir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "gradclip-tb-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The event files in `dir`, sorted by name. */
export function eventFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.includes("tfevents"))
    .sort()
    .map((f) => join(dir, f));
}

/** True when the python reader can run; otherwise marks the test skipped with the reason. */
export function pythonReader(t: TestContext): boolean {
  const why = pythonReaderUnavailable();
  if (why === null) return true;
  t.skip(`independent reader unavailable: ${why}`);
  return false;
}

/** Every scalar of the files as [tag, step, value] triples, checking CRCs and framing on the way. */
export function scalarsOf(files: ReadFile[]): { tag: string; step: number; value: ReadValue; wallTime: number }[] {
  const out: { tag: string; step: number; value: ReadValue; wallTime: number }[] = [];
  for (const f of files) {
    if (f.trailing_bytes !== 0) throw new Error(`${f.path}: ${f.trailing_bytes} bytes after the last whole record`);
    f.records.forEach((r, i) => {
      if (!r.length_crc_ok || !r.data_crc_ok)
        throw new Error(`${f.path} record ${i}: bad CRC (length ${r.length_crc_ok}, data ${r.data_crc_ok})`);
      if (!r.reserialized_equal)
        throw new Error(`${f.path} record ${i}: bytes differ from protobuf's serialization of the same message`);
      if (i === 0) {
        if (r.what !== "file_version" || r.file_version !== "brain.Event:2")
          throw new Error(`${f.path}: first record is not file_version brain.Event:2`);
        return;
      }
      if (r.what !== "summary" || r.values?.length !== 1)
        throw new Error(`${f.path} record ${i}: not a one-value summary`);
      out.push({ tag: r.values[0]!.tag, step: r.step, value: r.values[0]!, wallTime: Number(r.wall_time) });
    });
  }
  return out;
}

/** Whether a read simple_value is `expected` rounded to float32 (NaN matching NaN). */
export function sameFloat32(read: ReadValue, expected: number): boolean {
  if (read.kind !== "simple_value") return false;
  if (Number.isNaN(expected)) return read.value === "nan";
  return read.bits === float32Bits(expected);
}
