/**
 * @module Storage figures of a repository (`Repository.stats`, `engram stats`): what the snapshots
 * stand for, what deduplication and compression make of it, and what GC could reclaim now.
 */
import type { ObjectStore } from '../store/index.ts';
import { hashOfChunkKey } from './chunk-key.ts';
import { DEFAULT_GRACE_MS, markLive } from './gc.ts';
import type { Clock } from './ids.ts';
import { logicalBytes, type ChunkInfo, type SnapshotManifest } from './manifest.ts';

/** Storage figures of a repository. */
export interface RepoStats {
  readonly snapshots: number;
  readonly runs: number;
  /** Bytes all snapshots stand for, counted once per snapshot. */
  readonly logicalBytes: number;
  /** Raw bytes of the distinct chunks snapshots use (after deduplication, before compression). */
  readonly uniqueBytes: number;
  /** Bytes of every object in the store: chunks, manifests, refs, config. */
  readonly storedBytes: number;
  /** Bytes of chunk objects. */
  readonly chunkBytes: number;
  readonly chunks: number;
  /** Chunk objects no snapshot uses (left by interrupted saves), and their bytes. */
  readonly orphanChunks: number;
  readonly orphanBytes: number;
  /** Chunk objects no live snapshot needs (delta bases followed) older than the default GC grace period: what `gc` would reclaim now. */
  readonly reclaimableChunks: number;
  readonly reclaimableBytes: number;
  /** logical / unique: what deduplication saves. */
  readonly dedupRatio: number;
  /** unique / chunk bytes: what compression saves. */
  readonly compressionRatio: number;
  /** logical / stored: both together. */
  readonly ratio: number;
}

/** The figures of `store`, whose readable manifests are `manifests`; one listing of the whole store. */
export async function repoStats(store: ObjectStore, manifests: readonly SnapshotManifest[], clock: Clock): Promise<RepoStats> {
  const live = new Map<string, ChunkInfo>();
  let logical = 0;
  for (const m of manifests) {
    logical += logicalBytes(m);
    for (const [h, info] of Object.entries(m.chunks)) {
      live.set(h, info);
      if (info.base) live.set(info.base, live.get(info.base) ?? { size: 0, stored: 0 });
    }
  }
  const { marked } = await markLive(store, manifests);
  const reclaimableBefore = clock.now() - DEFAULT_GRACE_MS;
  let reclaimableChunks = 0;
  let reclaimableBytes = 0;
  let stored = 0;
  let chunkBytes = 0;
  let chunks = 0;
  let orphanChunks = 0;
  let orphanBytes = 0;
  let unique = 0;
  for await (const o of store.list('')) {
    stored += o.size;
    const hash = hashOfChunkKey(o.key);
    if (!hash) continue;
    chunks++;
    chunkBytes += o.size;
    if (!marked.has(hash) && o.mtimeMs <= reclaimableBefore) {
      reclaimableChunks++;
      reclaimableBytes += o.size;
    }
    const info = live.get(hash);
    if (info) unique += info.size;
    else {
      orphanChunks++;
      orphanBytes += o.size;
    }
  }
  const div = (a: number, b: number): number => (b === 0 ? 1 : a / b);
  return {
    snapshots: manifests.length,
    runs: new Set(manifests.map((m) => m.run)).size,
    logicalBytes: logical,
    uniqueBytes: unique,
    storedBytes: stored,
    chunkBytes,
    chunks,
    orphanChunks,
    orphanBytes,
    reclaimableChunks,
    reclaimableBytes,
    dedupRatio: div(logical, unique),
    compressionRatio: div(unique, chunkBytes - orphanBytes),
    ratio: div(logical, stored),
  };
}
