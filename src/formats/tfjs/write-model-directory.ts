/**
 * @module Writes a multi-file model (model.json + shards) as a directory, atomically: the files go
 * into a temporary sibling directory, each fsynced, which is then renamed into place, so a reader
 * never sees a model.json whose shards are missing or half written.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { EngramError, ioError } from '../../errors/index.ts';

import type { DirectoryFile, StreamedDirectoryFile } from '../tensor-format.ts';

export type { DirectoryFile, StreamedDirectoryFile } from '../tensor-format.ts';

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `files` as directory `dir`, in order (a streamed file's pieces are pulled as it is written). `dir` must not exist or be empty (an existing empty directory
 * is replaced); a non-empty one is a `Conflict`, since mixing new shards with old ones would make
 * a model that is neither. Returns the bytes written.
 *
 * @example await writeModelDirectory('out/web_model', writeTfjsModel(tensors));
 */
export async function writeModelDirectory(dir: string, files: readonly (DirectoryFile | StreamedDirectoryFile)[]): Promise<number> {
  const existing = await readdir(dir).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    // ENOTDIR: `dir` itself is a file (a Conflict), or one of its parents is (an IOError).
    if (e.code === 'ENOTDIR' && (await lstat(dir).then(() => true, () => false))) throw new EngramError('Conflict', `${dir} exists and is not a directory`, { path: dir });
    throw ioError(e, { path: dir });
  });
  if (existing && existing.length > 0) {
    throw new EngramError('Conflict', `${dir} already holds ${existing.length} entries; write the model to a new or empty directory`, { path: dir });
  }
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${basename(dir)}.engram-${randomBytes(6).toString('hex')}.tmp`);
  await mkdir(tmp);
  let size = 0;
  try {
    for (const f of files) {
      const rel = posix.normalize(f.path);
      if (rel.startsWith('../') || posix.isAbsolute(rel) || rel.includes('/')) {
        throw new EngramError('InvalidArgument', `model file ${JSON.stringify(f.path)} must be a plain file name`, { path: f.path });
      }
      const fh = await open(join(tmp, rel), 'wx');
      try {
        for await (const piece of 'bytes' in f ? [f.bytes] : f.pieces) {
          let off = 0;
          while (off < piece.byteLength) off += (await fh.write(piece, off, piece.byteLength - off)).bytesWritten;
          size += piece.byteLength;
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    await fsyncPath(tmp);
    // rename() replaces an empty directory atomically on POSIX; the check above refused a full one.
    await rename(tmp, dir);
    await fsyncPath(parent);
    return size;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    // A write or fsync error carries no path: name the directory (ENOSPC, EIO, …).
    throw ioError(e, { path: dir });
  }
}
