/**
 * The two libraries the event files need, and nothing else imports them:
 * the build bundles exactly this module into `dist/tensorboard/vendor.js`
 * with their licence notices (`scripts/bundle-tensorboard.ts`), so the
 * published package keeps zero runtime dependencies while the source (and
 * the tests, through tsx) import the libraries normally.
 *
 * - `@bufbuild/protobuf` (Buf; Apache-2.0, its varint code BSD-3-Clause from
 *   Google's protobuf): `BinaryWriter`, the protobuf wire-format encoder.
 * - `crc-32` (SheetJS; Apache-2.0): `crc32c`, the Castagnoli CRC that
 *   TFRecord framing uses (pure JS, no dependencies).
 */
// A CommonJS module whose exports Node cannot list statically: import its module.exports.
import CRC32C from "crc-32/crc32c";

export { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `bytes`, as an unsigned 32-bit integer. */
export function crc32c(bytes: Uint8Array): number {
  return CRC32C.buf(bytes) >>> 0;
}
