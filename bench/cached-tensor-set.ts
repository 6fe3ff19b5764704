/**
 * @module cachedTensorSet: generated workloads are kept under bench/.cache/ (git-ignored), keyed by
 * a name that includes the generator's version and sizes, so a second run reads them back instead
 * of generating (and training) again. Delete the folder to regenerate.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTensorSet, writeTensorSet, type TensorSet } from './tensor-set.ts';

/** bench/.cache/ beside this file. */
export const CACHE_DIR = process.env.ENGRAM_BENCH_CACHE ?? join(dirname(fileURLToPath(import.meta.url)), '.cache');

/** The cache path (without extension) of `key`. */
export function cachePath(key: string): string {
  return join(CACHE_DIR, key);
}

/** Whether `key` is cached. */
export function isCached(key: string): boolean {
  return existsSync(`${cachePath(key)}.json`);
}

/**
 * The tensor set cached under `key`, or the one `make` builds (which is then cached). `into` is
 * reused for the read when given.
 */
export async function cachedTensorSet(key: string, make: () => Promise<TensorSet> | TensorSet, into?: Uint8Array): Promise<TensorSet> {
  const path = cachePath(key);
  if (isCached(key)) return readTensorSet(path, into);
  const set = await make();
  await mkdir(dirname(path), { recursive: true });
  await writeTensorSet(path, set);
  return set;
}
