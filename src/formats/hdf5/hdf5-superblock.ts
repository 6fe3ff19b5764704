/**
 * @module Finds and checks an HDF5 superblock before the file is handed to the HDF5 library, so
 * that a file that is not HDF5, or is truncated, is refused with a FormatError naming the offset
 * without a trip through wasm.
 */
import { formatError } from '../../errors/index.ts';

/** The 8-byte signature that starts every HDF5 superblock: `\x89HDF\r\n\x1a\n`. */
export const HDF5_MAGIC: readonly number[] = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** What engram needs from the superblock. */
export interface Hdf5Superblock {
  /** Where the superblock starts: 0, or after a user block of 512, 1024, 2048, … bytes. */
  readonly offset: number;
  readonly version: number;
  readonly sizeOfOffsets: number;
  /** The end-of-file address the superblock records (relative to the base address). */
  readonly endOfFile: number;
}

/** True when `bytes` hold the HDF5 signature at `at`. */
export function hasHdf5Magic(bytes: Uint8Array, at = 0): boolean {
  return HDF5_MAGIC.every((b, i) => bytes[at + i] === b);
}

function readAddress(b: Uint8Array, at: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + b[at + i]!;
  return v;
}

/**
 * Locates the superblock (HDF5 looks at 0 and at every power of two from 512 on) and checks its
 * version, field sizes and recorded end of file against the real size. Throws a FormatError for a
 * file without a signature, of an unknown version, or shorter than its superblock says.
 */
export function checkSuperblock(name: string, bytes: Uint8Array): Hdf5Superblock {
  let offset = -1;
  for (let at = 0; at + 8 <= bytes.length; at = at === 0 ? 512 : at * 2) {
    if (hasHdf5Magic(bytes, at)) {
      offset = at;
      break;
    }
  }
  if (offset < 0) throw formatError(name, 0, 'no HDF5 signature at offset 0 or at any power of two from 512');
  const b = bytes;
  const version = b[offset + 8];
  if (version === undefined) throw formatError(name, offset + 8, 'truncated HDF5 superblock');
  let sizeOfOffsets: number;
  let sizeOfLengths: number;
  let eofAt: number;
  if (version === 0 || version === 1) {
    sizeOfOffsets = b[offset + 13] ?? 0;
    sizeOfLengths = b[offset + 14] ?? 0;
    // 24 bytes of fixed fields (v1 adds 4), then base, free-space and end-of-file addresses.
    eofAt = offset + (version === 1 ? 28 : 24) + 2 * sizeOfOffsets;
  } else if (version === 2 || version === 3) {
    sizeOfOffsets = b[offset + 9] ?? 0;
    sizeOfLengths = b[offset + 10] ?? 0;
    // Signature, version, two sizes, flags; then base, extension and end-of-file addresses.
    eofAt = offset + 12 + 2 * sizeOfOffsets;
  } else {
    throw formatError(name, offset + 8, `unsupported HDF5 superblock version ${version}`);
  }
  if (![2, 4, 8].includes(sizeOfOffsets) || ![2, 4, 8].includes(sizeOfLengths)) {
    throw formatError(name, offset + 9, `HDF5 superblock gives sizes of offsets ${sizeOfOffsets} and lengths ${sizeOfLengths}; only 2, 4 and 8 exist`);
  }
  if (eofAt + sizeOfOffsets > bytes.length) throw formatError(name, eofAt, 'truncated HDF5 superblock');
  const endOfFile = readAddress(b, eofAt, sizeOfOffsets);
  // An undefined address (all ones) is legal only while a file is being written.
  if (endOfFile > bytes.length - offset) {
    throw formatError(name, eofAt, `HDF5 superblock records an end of file at ${endOfFile} but the file has ${bytes.length - offset} bytes after its superblock (truncated)`);
  }
  return { offset, version, sizeOfOffsets, endOfFile };
}
