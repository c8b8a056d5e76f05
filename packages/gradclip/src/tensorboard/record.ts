/**
 * TFRecord framing, as TensorFlow's `RecordWriter` and TensorBoard's
 * `record_writer.py` write it (little-endian):
 *
 *     uint64  length
 *     uint32  masked CRC-32C of the 8 length bytes
 *     byte    data[length]
 *     uint32  masked CRC-32C of data
 *
 * The mask is TensorFlow's `crc32c::Mask` (tsl/lib/hash/crc32c.h): rotate
 * right by 15 bits and add 0xa282ead8, so that a CRC stored in a file is not
 * the CRC of data that contains CRCs.
 */
import { crc32c } from "./vendor.js";

/** The constant TensorFlow adds to a rotated CRC (`kMaskDelta`). */
export const CRC_MASK_DELTA = 0xa282ead8;

/** TensorFlow's masked representation of a CRC: `((crc >>> 15) | (crc << 17)) + 0xa282ead8`, mod 2^32. */
export function maskCrc(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + CRC_MASK_DELTA) >>> 0;
}

/** The masked CRC-32C of `bytes`, as stored in a TFRecord. */
export function maskedCrc32c(bytes: Uint8Array): number {
  return maskCrc(crc32c(bytes));
}

/** One TFRecord: length, masked CRC of the length, `data`, masked CRC of `data`. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}
