/** @module Where a restore writes: a directory on disk, or any sink that takes whole files. */
import { safeJoin, writeFileAtomic } from '../repo/index.ts';

/**
 * Takes a restore's files one at a time. `path` is the snapshot's `/`-separated path (it may come
 * from an untrusted manifest: a sink that maps it onto a file system must refuse one that lands
 * outside its root, as `directorySink` does). The pieces' iterator throws `IntegrityMismatch`
 * when a chunk does not match its key, or after the last piece when the rebuilt file is not what
 * was saved (its size; its SHA-256 unless the save verified its layout): a sink must then keep
 * nothing of that file. `write` resolves once the file is complete.
 */
export interface RestoreSink {
  write(path: string, pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void>;
}

/**
 * A sink writing under `dir`, each file atomically (temp file, fsync, rename), refusing
 * (`IntegrityMismatch`) a path that would land outside `dir`.
 *
 * @example await restoreSnapshot(snap, directorySink('out'));
 */
export function directorySink(dir: string): RestoreSink {
  return {
    async write(path, pieces) {
      await writeFileAtomic(safeJoin(dir, path), pieces);
    },
  };
}
