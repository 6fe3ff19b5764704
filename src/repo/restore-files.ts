/**
 * @module Writes a snapshot's files into a directory, each atomically: rebuilt into a temp file
 * from verified chunks (Snapshot.readFile), then renamed. A corrupt chunk therefore never leaves a
 * partial or wrong output file behind.
 */
import { open, mkdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EngramError, ioError } from '../errors/index.ts';
import type { Snapshot } from './snapshot.ts';

/** Pieces under this size are gathered (copied) into one larger write instead of a write each. */
const SMALL_PIECE = 64 * 1024;
/** The gathering buffer of one file being written. */
const GATHER_BYTES = 1 << 20;

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off);
    off += bytesWritten;
  }
}

/**
 * Writes `pieces` to `path` atomically: temp file, fsync, rename. On any error the temp file is
 * removed and `path` is untouched; an OS error is thrown as `IOError` naming the file. A large
 * piece is written as it is (no copy); small ones — a file's header, the bundled small tensors —
 * are copied into one buffer and written together, so that a file of many small pieces still goes
 * out in large sequential writes. Each piece is done with once the next one is asked for (a
 * producer may reuse its buffer).
 */
export async function writeFileAtomic(path: string, pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.engram-${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx');
  let size = 0;
  let gather: Uint8Array | undefined;
  let gathered = 0;
  const flush = async (): Promise<void> => {
    if (gathered === 0) return;
    await writeAll(fh, gather!.subarray(0, gathered));
    gathered = 0;
  };
  try {
    for await (const piece of pieces) {
      size += piece.byteLength;
      if (piece.byteLength < SMALL_PIECE) {
        gather ??= new Uint8Array(GATHER_BYTES);
        if (gathered + piece.byteLength > GATHER_BYTES) await flush();
        gather.set(piece, gathered);
        gathered += piece.byteLength;
        continue;
      }
      await flush();
      await writeAll(fh, piece);
    }
    await flush();
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
