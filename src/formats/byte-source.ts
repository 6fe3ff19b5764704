/**
 * @module ByteSource: random access to a file's bytes, bounded by its size, so readers never
 * allocate more than the file can hold.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { formatError, ioError } from '../errors/index.ts';

/** Random-access bytes of one file (or buffer) with a known size. */
export interface ByteSource {
  /** The name used in error messages (usually the path). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Reads exactly `length` bytes at `offset`. A range past the end is a `FormatError` naming the
   * source and offset, checked before anything is allocated.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the file handle, if any. */
  close(): Promise<void>;
}

function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw formatError(name, offset, `read of ${length} bytes at ${offset} runs past the end of the ${size}-byte file`);
  }
}

/** A ByteSource over bytes already in memory (a view, not a copy). */
export function bufferSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      checkRange(name, bytes.byteLength, offset, length);
      return bytes.subarray(offset, offset + length);
    },
    async close() {},
  };
}

/** Opens a file as a ByteSource. Throws `NotFound` when it does not exist. */
export async function openFileSource(path: string, name = path): Promise<ByteSource> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw ioError(e, { path, what: 'cannot read' });
  }
  const { size } = await fh.stat();
  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw formatError(name, offset + done, 'file shrank while it was being read');
        done += bytesRead;
      }
      return out;
    },
    async close() {
      await fh.close();
    },
  };
}
