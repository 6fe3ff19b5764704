/**
 * @module In-process engram measurements shared by the suites: a timed save with the stored bytes
 * it added, a cold, timed restore into preallocated buffers with a bit-exactness check, and the
 * depth of a snapshot's deepest delta chain as its manifest records it.
 */
import { createHash } from 'node:crypto';
import type { SnapshotManifest } from '../src/index.ts';
import { Repository } from './engram-lib.ts';
import { dropPageCache } from './cold-cache.ts';
import { saveTensors, slotBytes, tensorHashes, type TensorSet } from './tensor-set.ts';
import { syncDisks } from './warm-memory.ts';

/** Bytes of every object in the repository (chunks, manifests, refs, config). */
export async function storedBytes(repo: Repository): Promise<number> {
  return (await repo.stats()).storedBytes;
}

/** Result of {@link saveMeasured}. */
export interface SaveMeasure {
  readonly id: string;
  readonly seconds: number;
  /** Bytes the repository grew by. */
  readonly added: number;
}

/** Saves `set` as run@step (parent: the given snapshot, else the run's latest) and measures it. */
export async function saveMeasured(repo: Repository, set: TensorSet, run: string, step: number, parent?: string | null): Promise<SaveMeasure> {
  const before = await storedBytes(repo);
  syncDisks();
  const t0 = performance.now();
  const snap = await repo.save({ run, step, tensors: saveTensors(set), ...(parent !== undefined ? { parent } : {}) });
  const seconds = (performance.now() - t0) / 1000;
  return { id: snap.id, seconds, added: (await storedBytes(repo)) - before };
}

/** Result of {@link restoreMeasured}. */
export interface RestoreMeasure {
  readonly seconds: number;
  readonly bitExact: boolean;
  readonly coldCache: string;
}

/**
 * Restores snapshot `ref` of the repository at `path` through a fresh handle after dropping the
 * page cache, with `snapshot.tensors` into `into` (laid out like `set`, touched before timing), then
 * compares every tensor's SHA-256 with `set`'s (`expected` when precomputed).
 */
export async function restoreMeasured(path: string, ref: string, set: TensorSet, into: Uint8Array, expected?: Record<string, string>): Promise<RestoreMeasure> {
  const out: TensorSet = { slots: set.slots, data: into, rawBytes: set.rawBytes };
  into.fill(1, 0, set.data.byteLength);
  const coldCache = dropPageCache([path]);
  const t0 = performance.now();
  const repo = await Repository.open(path);
  const snap = await repo.snapshot(ref);
  const slots = new Map(set.slots.map((s) => [s.name, s]));
  await snap.tensors({ into: (name) => slotBytes(out, slots.get(name)!) });
  const seconds = (performance.now() - t0) / 1000;
  await repo.close();
  const want = expected ?? tensorHashes(set);
  const bitExact = set.slots.every((s) => createHash('sha256').update(slotBytes(out, s)).digest('hex') === want[s.name]);
  return { seconds, bitExact, coldCache };
}

/** Links from the snapshot's chunks to their keyframes: the longest delta chain (0 = all keyframes). */
export function deepestChain(m: SnapshotManifest): number {
  const depth = (h: string, seen: number): number => {
    const info = m.chunks[h];
    if (!info) return 0;
    if (typeof info.depth === 'number') return info.depth;
    if (!info.base || seen > 1000) return 0;
    return 1 + depth(info.base, seen + 1);
  };
  return Math.max(0, ...Object.keys(m.chunks).map((h) => depth(h, 0)));
}

/** The median of some numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Whether every tensor of snapshot `id` reads back exactly as `set` holds it (warm; for correctness only). */
export async function isBitExact(repo: Repository, id: string, set: TensorSet, into: Uint8Array): Promise<boolean> {
  const snap = await repo.snapshot(id);
  for (const s of set.slots) {
    const out = into.subarray(0, s.byteLength);
    await snap.tensor(s.name, { into: out });
    if (Buffer.compare(out, slotBytes(set, s)) !== 0) return false;
  }
  return true;
}
