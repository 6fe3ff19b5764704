/**
 * @module Writes a snapshot's files into a directory, each atomically: rebuilt into a temp file,
 * checked against its SHA-256, then renamed. A corrupt chunk therefore never leaves a partial or
 * wrong output file behind.
 */
import { open, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EngramError, ioError } from '../errors/index.ts';
import type { Snapshot } from './snapshot.ts';

/**
 * Writes `pieces` to `path` atomically: temp file, fsync, rename. On any error the temp file is
 * removed and `path` is untouched; an OS error is thrown as `IOError` naming the file.
 */
export async function writeFileAtomic(path: string, pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.engram-${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx');
  let size = 0;
  try {
    for await (const piece of pieces) {
      let off = 0;
      while (off < piece.byteLength) {
        const { bytesWritten } = await fh.write(piece, off, piece.byteLength - off);
        off += bytesWritten;
      }
      size += piece.byteLength;
    }
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
    return size;
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    // A write or fsync error carries no path: name the file it was for (ENOSPC, EIO, …).
    throw ioError(e, { path });
  }
}

/** `root/rel`, refusing (`IntegrityMismatch`) a `rel` that would land outside `root`. */
export function safeJoin(root: string, rel: string): string {
  const base = resolve(root);
  const target = resolve(base, rel);
  if (!target.startsWith(base + sep)) {
    throw new EngramError('IntegrityMismatch', `refusing to write ${rel}: it lands outside ${root}`, { path: rel });
  }
  return target;
}

/** Rebuilds every file of `snapshot` under `dir`, byte for byte. Returns the paths written. */
export async function restoreFiles(snapshot: Snapshot, dir: string, onFile?: (path: string, size: number) => void): Promise<string[]> {
  const root = resolve(dir);
  const written: string[] = [];
  for (const f of snapshot.files) {
    const target = safeJoin(root, f.path);
    await writeFileAtomic(target, snapshot.readFile(f.path));
    written.push(join(dir, f.path));
    onFile?.(f.path, f.size);
  }
  return written;
}
