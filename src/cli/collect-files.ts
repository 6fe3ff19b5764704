/**
 * @module Turns `engram save` arguments into files with relative paths: a directory contributes
 * every file under it, relative to it; a file contributes its base name. Paths sort so that the
 * same directory always saves the same way (and so deduplicates completely).
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { EngramError } from '../errors/index.ts';

/** A file to save: where it is, and the path it gets in the snapshot. */
export interface CollectedFile {
  readonly abs: string;
  readonly rel: string;
}

async function walk(dir: string, root: string, out: CollectedFile[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const abs = join(dir, e.name);
    if (e.isDirectory()) await walk(abs, root, out);
    else if (e.isFile()) out.push({ abs, rel: relative(root, abs).split(sep).join('/') });
  }
}

/** Expands files and directories; duplicate snapshot paths are an `InvalidArgument`. */
export async function collectFiles(paths: readonly string[]): Promise<CollectedFile[]> {
  const out: CollectedFile[] = [];
  for (const p of paths) {
    let s;
    try {
      s = await stat(p);
    } catch {
      throw new EngramError('NotFound', `${p} does not exist`, { path: p });
    }
    if (s.isDirectory()) await walk(p, p, out);
    else if (s.isFile()) out.push({ abs: p, rel: basename(p) });
    else throw new EngramError('InvalidArgument', `${p} is neither a file nor a directory`, { path: p });
  }
  out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.rel === out[i - 1]!.rel) {
      throw new EngramError('InvalidArgument', `two inputs would both be saved as ${out[i]!.rel}: ${out[i - 1]!.abs} and ${out[i]!.abs}`, { path: out[i]!.rel });
    }
  }
  return out;
}
