/**
 * @module A save by many ranks at once (DESIGN §3, staging/). Each rank announces itself with a save
 * intent (so no GC deletes a chunk it relies on), stores its chunks, and writes its part to
 * `staging/<save-id>/rank-<k>.json`. Rank 0 — the committer — waits until every other rank's part is
 * present, merges them and writes ONE snapshot manifest with if-absent, exactly like an ordinary
 * save's commit. A snapshot exists iff that manifest exists, so a save missing any rank is never
 * visible; its chunks are orphans that GC removes after its grace period.
 *
 * Why GC cannot delete chunks of a save in flight: a rank holds its intent from before its first
 * chunk until its part is written, and the part itself is a staged object whose mtime keeps the
 * save alive for STALE_MS (coordination.ts); rank 0 holds its intent, heartbeating, until the
 * manifest is written, and a GC that sees any live intent deletes no chunk at all. Rank 0 reads the
 * parts only after its intent is in place: a GC that removed a part as stale did so before deleting
 * anything, so a part rank 0 can still read has all its chunks.
 */
import { EngramError, isEngramError } from '../errors/index.ts';
import { beginSave, checkRefName, checkRunName, newId, systemClock, type Repository, type SnapshotManifest } from '../repo/index.ts';
import { ChunkReader } from '../repo/chunk-reader.ts';
import { decodeManifest, encodeManifest, manifestKey } from '../repo/manifest.ts';
import type { ObjectStore } from '../store/index.ts';
import { collectParts } from './collect-parts.ts';
import { mergeParts } from './merge-parts.ts';
import { encodeRankPart, type RankPart } from './rank-part.ts';
import { checkRank, rankPartKey, shardedSaveId, stagingPrefix } from './save-id.ts';
import type { SaveShardedOptions, ShardedSaveResult } from './sharded-input.ts';
import { writeRankChunks, type DeltaParent } from './write-rank-chunks.ts';

/** Default time rank 0 waits for the other ranks: half the staleness limit, so no part goes stale meanwhile. */
export const DEFAULT_COMMIT_TIMEOUT_MS = 5 * 60_000;

const realSleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

/**
 * Saves this rank's shards as part of one distributed snapshot. Every rank of the job calls it with
 * the same run, step and world size; rank 0 returns the committed snapshot, the others return once
 * their part is durable. Throws `Conflict` on rank 0 when a rank's part does not arrive in time
 * (nothing is committed, and the staged parts are removed so a retry starts clean) and
 * `InvalidArgument` when the parts do not fit together (gaps, overlaps, replicas that differ).
 *
 * @example
 * // on every rank k of 4, holding rows [k*256, (k+1)*256) of a [1024, 512] weight:
 * const r = await saveSharded(repo, {
 *   run: 'llm', step: 1000, rank: k, worldSize: 4,
 *   tensors: { 'model/w': { dtype: 'F32', globalShape: [1024, 512], shards: [{ offsets: [k * 256, 0], shape: [256, 512], data }] } },
 *   replicated: { 'model/bias': { dtype: 'F32', shape: [512], data: bias } },
 * });
 */
export async function saveSharded(repo: Repository, options: SaveShardedOptions): Promise<ShardedSaveResult> {
  checkRunName(options.run);
  checkRank(options.rank, options.worldSize);
  if (!Number.isSafeInteger(options.step) || options.step < 0) throw new EngramError('InvalidArgument', `step must be a non-negative integer, got ${options.step}`, { step: options.step });
  for (const tag of options.tags ?? []) checkRefName(tag);
  const saveId = options.saveId ?? shardedSaveId(options.run, options.step);
  stagingPrefix(saveId);
  const clock = options.clock ?? systemClock;
  const store = repo.store;
  const intent = await beginSave(store, clock);
  try {
    const { part, storedBytes } = await writeRankChunks(store, repo.config, saveId, options, await deltaParent(repo, options));
    if (options.rank !== 0) {
      // A plain put: a part left by an earlier, failed attempt at the same save is replaced.
      await store.put(rankPartKey(saveId, options.rank), encodeRankPart(part));
      await options.barrier?.();
      return { saveId, rank: options.rank, storedBytes };
    }
    await options.barrier?.();
    let manifest: SnapshotManifest;
    try {
      const others = Array.from({ length: options.worldSize - 1 }, (_, i) => i + 1);
      const parts = await collectParts(store, saveId, others, {
        timeoutMs: options.timeoutMs ?? DEFAULT_COMMIT_TIMEOUT_MS, clock, sleep: options.sleep ?? realSleep,
      });
      manifest = await commit(repo, intent.guard(store), saveId, options, [part, ...others.map((r) => parts.get(r)!)]);
    } finally {
      // Committed or not, the parts have served: a retry of this save must not pick up stale ones.
      await removeStaging(store, saveId);
    }
    for (const tag of options.tags ?? []) await repo.refs.move(tag, manifest.id, `save ${manifest.run}@${manifest.step}`);
    return { saveId, rank: 0, snapshot: repo.adoptSnapshot(manifest), storedBytes };
  } finally {
    await intent.end();
  }
}

/**
 * The snapshot this rank's chunks may be deltas against: `parent`, else the run's head; none for a
 * new lineage. Read from the store, not from the Repository's manifest cache, and only after the
 * save intent exists: a manifest read now is live or its chunks are protected by our intent, while
 * a cached one may have been forgotten and collected since it was cached.
 */
async function deltaParent(repo: Repository, options: SaveShardedOptions): Promise<DeltaParent | undefined> {
  if (options.parent === null) return undefined;
  let id: string;
  try {
    id = await repo.resolve(options.parent ?? `${options.run}@latest`);
  } catch (e) {
    if (isEngramError(e, 'NotFound') && options.parent === undefined) return undefined;
    throw e;
  }
  let bytes: Uint8Array;
  try {
    bytes = await repo.store.get(manifestKey(id));
  } catch (e) {
    if (isEngramError(e, 'NotFound')) return undefined; // forgotten meanwhile: save without deltas
    throw e;
  }
  const reader = new ChunkReader(repo.store);
  return { manifest: decodeManifest(id, bytes), readChunk: (hash, item) => reader.chunk(hash, item) };
}

/** Merges the parts and writes the snapshot manifest (if-absent): the commit point of the whole save. */
async function commit(repo: Repository, store: ObjectStore, saveId: string, options: SaveShardedOptions, parts: readonly RankPart[]): Promise<SnapshotManifest> {
  const merged = mergeParts(saveId, parts, options);
  let parent: string | null;
  if (options.parent === null) parent = null;
  else if (options.parent !== undefined) parent = await repo.resolve(options.parent);
  else {
    try {
      parent = await repo.resolve(`${options.run}@latest`);
    } catch (e) {
      if (!isEngramError(e, 'NotFound')) throw e;
      parent = null;
    }
  }
  const clock = options.clock ?? systemClock;
  const id = newId(clock);
  const manifest: SnapshotManifest = {
    format: 'engram.snapshot',
    version: merged.sharded ? 2 : 1,
    id,
    run: options.run,
    step: options.step,
    parent,
    createdAt: new Date(clock.now()).toISOString(),
    message: options.message ?? '',
    metrics: { ...(options.metrics ?? {}) },
    meta: { ...(options.meta ?? {}), 'engram.distributed': { saveId, worldSize: options.worldSize } },
    tensors: merged.tensors,
    blobs: merged.blobs,
    files: [],
    chunks: merged.chunks,
  };
  if (!(await store.put(manifestKey(id), encodeManifest(manifest), { ifAbsent: true }))) {
    throw new EngramError('Conflict', `snapshot ${id} already exists`, { snapshot: id });
  }
  return manifest;
}

/** Deletes every object of the save's staging folder; failures only leave work for GC. */
async function removeStaging(store: ObjectStore, saveId: string): Promise<void> {
  const keys: string[] = [];
  try {
    for await (const o of store.list(stagingPrefix(saveId))) keys.push(o.key);
    await Promise.all(keys.map((k) => store.delete(k)));
  } catch {
    // A leftover part is stale after STALE_MS and GC removes it then.
  }
}
