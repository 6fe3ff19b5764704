/**
 * @module originalBytes: a file's own bytes for the save-time layout check (`FileInput.original`),
 * read into the caller's buffer so that the check allocates nothing per piece.
 */
import { open } from 'node:fs/promises';
import { ioError } from '../errors/index.ts';

/** Reads of one file at given offsets, and the handle's release. */
export interface OriginalBytes {
  /** Fills `into` with the bytes at `offset`; resolves to how many there were (fewer at the end). */
  read(offset: number, into: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

/** Opens `path` for `OriginalBytes` reads; an OS error is an `IOError` naming the file. */
export async function originalBytes(path: string): Promise<OriginalBytes> {
  const fh = await open(path, 'r').catch((e: unknown) => {
    throw ioError(e, { path, what: 'cannot read' });
  });
  return {
    async read(offset, into) {
      let done = 0;
      try {
        while (done < into.byteLength) {
          const { bytesRead } = await fh.read(into, done, into.byteLength - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
      } catch (e) {
        throw ioError(e, { path, what: 'cannot read' });
      }
      return done;
    },
    close: () => fh.close(),
  };
}
