/**
 * Runs read_events.py (Python's protobuf bindings and TensorBoard's
 * event.proto compiled by protoc) on event files: the independent reader of
 * the TensorBoard tests. Unavailable, with the reason, when /usr/bin/python3,
 * its protobuf module (Debian: python3-protobuf) or protoc (Debian:
 * protobuf-compiler) is missing.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const PROTO_ROOT = join(HERE, "proto");
const READER = join(HERE, "read_events.py");
const PYTHON = "/usr/bin/python3";

export interface ReadValue {
  tag: string;
  kind: string | null;
  value: string;
  bits: number;
}
export interface ReadRecord {
  length: number;
  length_crc_ok: boolean;
  data_crc_ok: boolean;
  reserialized_equal: boolean;
  wall_time: string;
  step: number;
  what: string | null;
  file_version?: string;
  source_writer?: string;
  values?: ReadValue[];
}
export interface ReadFile {
  path: string;
  size: number;
  records: ReadRecord[];
  trailing_bytes: number;
}

let generated: string | null | undefined;
let unavailable = "";

/** Null when the reader can run, else why not. */
export function pythonReaderUnavailable(): string | null {
  if (generated === undefined) {
    generated = null;
    if (!existsSync(PYTHON)) unavailable = `${PYTHON} not found (Debian: apt-get install python3 python3-protobuf)`;
    else if (spawnSync(PYTHON, ["-c", "import google.protobuf"]).status !== 0)
      unavailable = `${PYTHON} has no protobuf module (Debian: apt-get install python3-protobuf)`;
    else if (spawnSync("protoc", ["--version"]).status !== 0)
      unavailable = "protoc not found (Debian: apt-get install protobuf-compiler)";
    else {
      const out = mkdtempSync(join(tmpdir(), "gradclip-tb-proto-"));
      process.on("exit", () => rmSync(out, { recursive: true, force: true }));
      const protos = readdirSync(join(PROTO_ROOT, "tensorboard/compat/proto")).filter((f) => f.endsWith(".proto"));
      execFileSync("protoc", [
        `--proto_path=${PROTO_ROOT}`,
        `--python_out=${out}`,
        ...protos.map((f) => join(PROTO_ROOT, "tensorboard/compat/proto", f)),
      ]);
      generated = out;
    }
  }
  return generated === null ? unavailable : null;
}

/** Every record of each file, as read_events.py reads it. */
export function readEventFiles(files: readonly string[]): ReadFile[] {
  const why = pythonReaderUnavailable();
  if (why !== null) throw new Error(`python reader unavailable: ${why}`);
  const out = execFileSync(PYTHON, [READER, generated!, ...files], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  return (JSON.parse(out) as { files: ReadFile[] }).files;
}

/** The float32 bits of `x` (Math.fround semantics), to compare with a read simple_value. */
export function float32Bits(x: number): number {
  const v = new DataView(new ArrayBuffer(4));
  v.setFloat32(0, x, true);
  return v.getUint32(0, true);
}
