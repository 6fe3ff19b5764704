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
  /**
   * The sink is done with each piece once it asks for the next (it writes it out, or copies it):
   * the restore may then hand it pieces in memory that is reused for the next chunks, which saves
   * a copy of every byte (`Snapshot.readFile`'s `transient`). Unset, every piece stays valid.
   */
  readonly consumesPieces?: boolean;
}

/**
 * A sink writing under `dir`, each file atomically (temp file, fsync, rename), refusing
 * (`IntegrityMismatch`) a path that would land outside `dir`.
 *
 * @example await restoreSnapshot(snap, directorySink('out'));
 */
export function directorySink(dir: string): RestoreSink {
  return {
    // writeFileAtomic writes (or gathers) each piece before it asks for the next.
    consumesPieces: true,
    async write(path, pieces) {
      await writeFileAtomic(safeJoin(dir, path), pieces);
    },
  };
}
