/**
 * @module Turns `engram save` arguments into files with relative paths: a directory contributes
 * every file under it, relative to it; a file contributes its base name. Paths sort so that the
 * same directory always saves the same way (and so deduplicates completely).
 *
 * Symbolic links are followed, to files and to directories, like `cp -rL`: the snapshot holds the
 * content under the link's own path, and restore writes a regular file there. That is what a
 * Hugging Face cache (`snapshots/<rev>/*` → `../../blobs/<hash>`) needs: the files a model loader
 * reads. Whatever cannot be saved is refused, never skipped: a dangling link (`NotFound`), a link
 * loop or a directory reached again through a link, a FIFO, socket or device (`InvalidArgument`).
 */
import type { Dirent, Stats } from 'node:fs';
import { readdir, readlink, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { EngramError, ioError } from '../errors/index.ts';

/** A file to save: where it is, and the path it gets in the snapshot. */
export interface CollectedFile {
  readonly abs: string;
  readonly rel: string;
}

const ONLY_FILES = 'engram saves regular files, directories and symbolic links to them: remove it, or name the files to save one by one.';

function kindOf(s: Stats | Dirent): string {
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isCharacterDevice()) return 'a character device';
  return 'neither a file nor a directory';
}

/** What `path` is once its links are followed; a dangling link or a loop is a clear error. */
async function follow(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const target = await readlink(path).catch(() => undefined);
      if (target !== undefined) {
        throw new EngramError('NotFound', `${path} is a symbolic link to ${target}, which does not exist`, { path, target }, { hint: 'Fix or remove the dangling link (or restore what it points to), then save again; nothing was saved.' });
      }
      throw new EngramError('NotFound', `${path} does not exist`, { path }, { hint: 'Check the path of the file or directory to save; nothing was saved.' });
    }
    if (code === 'ELOOP') {
      throw new EngramError('InvalidArgument', `${path} is a loop of symbolic links`, { path }, { hint: 'Fix or remove the link that points back at itself, then save again; nothing was saved.' });
    }
    throw ioError(e, { path });
  }
}

async function walk(dir: string, root: string, out: CollectedFile[], ancestors: ReadonlySet<string>): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw ioError(e, { path: dir, what: 'cannot list' });
  }
  for (const e of entries) {
    const abs = join(dir, e.name);
    // Links, and entries whose type the file system does not report, are looked at through stat.
    const s: Stats | Dirent = e.isDirectory() || e.isFile() ? e : await follow(abs);
    if (s.isDirectory()) {
      const st = s === e ? await follow(abs) : (s as Stats);
      const key = `${st.dev}:${st.ino}`;
      if (ancestors.has(key)) {
        throw new EngramError('InvalidArgument', `${abs} leads back into a directory that contains it (a symbolic link loop)`, { path: abs }, { hint: 'Remove the link that points at its own parent, or save the directories it joins separately; nothing was saved.' });
      }
      await walk(abs, root, out, new Set([...ancestors, key]));
    } else if (s.isFile()) {
      out.push({ abs, rel: relative(root, abs).split(sep).join('/') });
    } else {
      throw new EngramError('InvalidArgument', `${abs} is ${kindOf(s)}; it cannot be saved`, { path: abs }, { hint: ONLY_FILES });
    }
  }
}

/**
 * Expands files and directories, following symbolic links. Duplicate snapshot paths, link loops and
 * special files are an `InvalidArgument`, a dangling link or a missing path `NotFound`, and input
 * that holds no file at all an `InvalidArgument`: a save never skips what it was given.
 */
export async function collectFiles(paths: readonly string[]): Promise<CollectedFile[]> {
  const out: CollectedFile[] = [];
  for (const p of paths) {
    const s = await follow(p);
    if (s.isDirectory()) await walk(p, p, out, new Set([`${s.dev}:${s.ino}`]));
    else if (s.isFile()) out.push({ abs: p, rel: basename(p) });
    else throw new EngramError('InvalidArgument', `${p} is ${kindOf(s)}; it cannot be saved`, { path: p }, { hint: ONLY_FILES });
  }
  if (out.length === 0) {
    throw new EngramError('InvalidArgument', `nothing to save: ${paths.join(', ')} ${paths.length === 1 ? 'holds' : 'hold'} no files`, { paths: [...paths] }, { hint: 'Name a directory that holds the checkpoint files, or the files themselves.' });
  }
  out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.rel === out[i - 1]!.rel) {
      throw new EngramError('InvalidArgument', `two inputs would both be saved as ${out[i]!.rel}: ${out[i - 1]!.abs} and ${out[i]!.abs}`, { path: out[i]!.rel });
    }
  }
  return out;
}
