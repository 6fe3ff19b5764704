/**
 * @module Builds a whole directory (`engram restore`'s output) beside its target and moves it into
 * place, so the target holds either what it held before or the complete new tree — never a mix,
 * never a partial tree after a failure.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { EngramError, ioError } from '../errors/index.ts';
import { fsyncDirectory } from '../store/index.ts';

/** The entries of `dir`, or undefined when nothing is there; `Conflict` when it is not a directory. */
async function existingEntries(dir: string): Promise<string[] | undefined> {
  let s;
  try {
    s = await lstat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(e, { path: dir });
  }
  if (!s.isDirectory()) {
    throw new EngramError('Conflict', `${dir} exists and is not a directory`, { path: dir }, { hint: 'Name a new directory (or an empty one) to restore into; nothing was written.' });
  }
  return readdir(dir);
}

/**
 * Calls `build` with a new empty directory next to `target` (same parent, so on the same file
 * system), then renames it to `target`. `target` may be missing or empty; a non-empty one is a
 * `Conflict` unless `force`, which replaces it: the old tree is renamed aside, the new one renamed
 * in, and the old one deleted — two renames, so another process may see no `target` for that
 * instant, but never a mix (Node has no renameat2 RENAME_EXCHANGE to swap them in one step). If
 * `build` or a rename fails, the temporary tree is deleted and `target` is as it was.
 *
 * @example await replaceDirectory('out', { force: false }, (tmp) => restoreFiles(snap, tmp));
 */
export async function replaceDirectory<T>(target: string, options: { readonly force: boolean }, build: (dir: string) => Promise<T>): Promise<T> {
  const entries = await existingEntries(target);
  if (entries && entries.length > 0 && !options.force) {
    throw new EngramError('Conflict', `${target} is not empty (${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}); nothing was written`, { path: target, entries: entries.length }, {
      hint: 'Restore into a new or empty directory, or pass --force to replace this one (its current content is deleted once the restore is complete).',
    });
  }
  const abs = resolve(target);
  const parent = dirname(abs);
  await mkdir(parent, { recursive: true });
  const id = randomBytes(6).toString('hex');
  const tmp = join(parent, `.${basename(abs)}.engram-${id}.tmp`);
  await mkdir(tmp);
  let result: T;
  try {
    result = await build(tmp);
    await fsyncDirectory(tmp);
    if (entries && entries.length > 0) {
      const old = join(parent, `.${basename(abs)}.engram-${id}.old`);
      await rename(abs, old);
      try {
        await rename(tmp, abs);
      } catch (e) {
        await rename(old, abs);
        throw e;
      }
      await rm(old, { recursive: true, force: true });
    } else {
      // rename() replaces an empty directory in one step on POSIX.
      await rename(tmp, abs);
    }
    await fsyncDirectory(parent);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    // Name the target: the temporary directory the error may mention is gone now.
    const typed = ioError(e, { path: target });
    throw typed.code === 'IOError' ? new EngramError('IOError', `cannot restore into ${target}: ${typed.message}`, typed.data, { cause: e, hint: typed.hint }) : typed;
  }
  return result;
}
