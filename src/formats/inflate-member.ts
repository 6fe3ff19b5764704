/**
 * @module Inflating deflated zip members with every output bounded by the size the directory
 * declares, so a zip bomb is a FormatError, never an out-of-memory crash.
 */
import { constants as bufferConstants } from 'node:buffer';
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { formatError } from '../errors/index.ts';
import type { ByteSource } from './byte-source.ts';
import { crc32 } from './crc32.ts';
import type { ZipEntry } from './zip-directory.ts';

/** The largest member engram inflates: what one buffer can hold. */
export const MAX_INFLATED_BYTES = bufferConstants.MAX_LENGTH;

function inflate(file: string, entry: ZipEntry, compressed: Uint8Array, partial: boolean): Uint8Array {
  try {
    const out = inflateRawSync(compressed, {
      // SYNC_FLUSH yields what a truncated prefix decodes to instead of failing on the missing end.
      ...(partial ? { finishFlush: zlibConstants.Z_SYNC_FLUSH } : {}),
      maxOutputLength: Math.max(1, Math.min(entry.uncompressedSize, MAX_INFLATED_BYTES)),
    });
    // A plain Uint8Array view, so callers get the same type whichever reader produced the bytes.
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    throw formatError(file, entry.dataOffset, `member ${entry.name} is not valid deflate data or inflates past its declared ${entry.uncompressedSize} bytes`, e);
  }
}

/**
 * Inflates at least the first `want` bytes of a member (fewer only if the member is shorter),
 * reading only as much compressed data as that takes: enough to parse an .npy header without
 * inflating the whole array.
 */
export async function inflatePrefix(src: ByteSource, entry: ZipEntry, want: number): Promise<Uint8Array> {
  let take = Math.min(entry.compressedSize, 1024);
  for (;;) {
    const out = inflate(src.name, entry, await src.read(entry.dataOffset, take), true);
    if (out.byteLength >= want || take === entry.compressedSize) return out;
    take = Math.min(entry.compressedSize, take * 4);
  }
}

/** Inflates a whole member and checks its length and CRC-32 against the directory. */
export async function inflateMember(src: ByteSource, entry: ZipEntry): Promise<Uint8Array> {
  const out = inflate(src.name, entry, await src.read(entry.dataOffset, entry.compressedSize), false);
  if (out.byteLength !== entry.uncompressedSize) {
    throw formatError(src.name, entry.dataOffset, `member ${entry.name} inflates to ${out.byteLength} bytes, the directory says ${entry.uncompressedSize}`);
  }
  if (crc32(out) !== entry.crc32) throw formatError(src.name, entry.dataOffset, `member ${entry.name} fails its CRC-32 check`);
  return out;
}
