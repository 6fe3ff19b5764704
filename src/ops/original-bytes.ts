/**
 * @module originalBytes: a file's own bytes for the save-time layout check (`FileInput.original`),
 * read into the caller's buffer so that the check allocates nothing per piece.
 */
import { open, stat } from 'node:fs/promises';
import { EngramError, ioError } from '../errors/index.ts';

/** Reads of one file at given offsets, and the handle's release. */
export interface OriginalBytes {
  /** Fills `into` with the bytes at `offset`; resolves to how many there were (fewer at the end). */
  read(offset: number, into: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

/** What identifies a file's content version: size, and its change and modification times (ns). */
export interface FileVersion {
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

/** The version of the file at `path` now. */
export async function fileVersion(path: string): Promise<FileVersion> {
  try {
    const s = await stat(path, { bigint: true });
    return { size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
  } catch (e) {
    throw ioError(e, { path, what: 'cannot read' });
  }
}

/**
 * Opens `path` for `OriginalBytes` reads. Each read first checks that the file is still at
 * `version` (taken before its layout was read and its SHA-256 taken): a file rewritten meanwhile is
 * `IntegrityMismatch`, since its layout, hash and tensors would describe different contents. (A
 * rewrite of the same size within one tick of the file system's clock goes unseen.) An OS error is
 * an `IOError` naming the file.
 */
export async function originalBytes(path: string, version: FileVersion): Promise<OriginalBytes> {
  const fh = await open(path, 'r').catch((e: unknown) => {
    throw ioError(e, { path, what: 'cannot read' });
  });
  return {
    async read(offset, into) {
      let done = 0;
      const now = await fh.stat({ bigint: true }).catch((e: unknown) => {
        throw ioError(e, { path, what: 'cannot read' });
      });
      if (now.size !== version.size || now.mtimeNs !== version.mtimeNs || now.ctimeNs !== version.ctimeNs) {
        throw new EngramError('IntegrityMismatch', `${path} changed while it was being saved (size ${version.size} → ${now.size}); nothing was committed — save it again once it is complete`, { path, reason: 'changed' });
      }
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
