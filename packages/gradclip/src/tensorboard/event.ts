/**
 * The two `tensorboard.Event` messages the writer needs, encoded by hand on
 * the protobuf wire format (field numbers from TensorBoard's
 * `tensorboard/compat/proto/event.proto` and `summary.proto`):
 *
 *     Event   { double wall_time = 1; int64 step = 2;
 *               oneof what { string file_version = 3; Summary summary = 5; ... }
 *               SourceMetadata source_metadata = 10; }
 *     Summary { repeated Value value = 1; }
 *     Value   { string tag = 1; oneof value { float simple_value = 2; ... } }
 *     SourceMetadata { string writer = 1; }
 *
 * Fields are written in field-number order and proto3 defaults (a 0 step or
 * wall time) are left out, so the bytes equal what protobuf's own
 * serializer gives for the same message. `simple_value` sits in a oneof, so
 * a 0 value is written: without it a reader would see no value at all.
 */
import { BinaryWriter, WireType } from "./vendor.js";

/** The version string TensorBoard expects in the first event of a file. */
export const FILE_VERSION = "brain.Event:2";

function header(w: BinaryWriter, wallTime: number, step: number): void {
  if (wallTime !== 0) w.tag(1, WireType.Bit64).double(wallTime);
  if (step !== 0) w.tag(2, WireType.Varint).int64(step);
}

/** The first event of a file: `file_version: "brain.Event:2"` and the writer's name in `source_metadata`. */
export function encodeFileVersionEvent(wallTime: number, writerName: string): Uint8Array {
  const w = new BinaryWriter();
  header(w, wallTime, 0);
  w.tag(3, WireType.LengthDelimited).string(FILE_VERSION);
  w.tag(10, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(writerName).join();
  return w.finish();
}

/** An event holding one scalar: `summary { value { tag, simple_value } }` (the value rounded to float32). */
export function encodeScalarEvent(wallTime: number, step: number, tag: string, value: number): Uint8Array {
  const w = new BinaryWriter();
  header(w, wallTime, step);
  w.tag(5, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).string(tag);
  // Rounded here: BinaryWriter.float refuses finite values beyond float32's range; float32 stores them as ±Infinity.
  w.tag(2, WireType.Bit32).float(Math.fround(value));
  w.join();
  w.join();
  return w.finish();
}
