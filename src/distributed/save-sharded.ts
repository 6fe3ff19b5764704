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
import { isEngramError } from '../errors/index.ts';
import { beginSave, checkRunName, checkSaveHeader, commitSnapshot, readManifest, resolveParent, systemClock, type Repository, type Snapshot, type SnapshotManifest } from '../repo/index.ts';
import type { ObjectStore } from '../store/index.ts';
import { collectParts } from './collect-parts.ts';
import { mergeParts } from './merge-parts.ts';
import { encodeRankPart, type RankPart } from './rank-part.ts';
import { checkRank, rankPartKey, shardedSaveId, stagingPrefix } from './save-id.ts';
import type { SaveShardedOptions, ShardedSaveResult } from './sharded-input.ts';
import { writeRankChunks } from './write-rank-chunks.ts';

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
  checkSaveHeader(options);
  const saveId = options.saveId ?? shardedSaveId(options.run, options.step);
  stagingPrefix(saveId);
  const clock = options.clock ?? systemClock;
  const store = repo.store;
  const intent = await beginSave(store, clock);
  try {
    const { part, storedBytes } = await writeRankChunks(repo, saveId, options, await deltaParent(repo, options));
    if (options.rank !== 0) {
      // A plain put: a part left by an earlier, failed attempt at the same save is replaced.
      await store.put(rankPartKey(saveId, options.rank), encodeRankPart(part));
      await options.barrier?.();
      return { saveId, rank: options.rank, storedBytes };
    }
    await options.barrier?.();
    let snapshot: Snapshot;
    try {
      const others = Array.from({ length: options.worldSize - 1 }, (_, i) => i + 1);
      const parts = await collectParts(store, saveId, others, {
        timeoutMs: options.timeoutMs ?? DEFAULT_COMMIT_TIMEOUT_MS, clock, sleep: options.sleep ?? realSleep,
      });
      snapshot = await commit(repo, intent.guard(store), saveId, options, [part, ...others.map((r) => parts.get(r)!)]);
    } finally {
      // Committed or not, the parts have served: a retry of this save must not pick up stale ones.
      await removeStaging(store, saveId);
    }
    return { saveId, rank: 0, snapshot, storedBytes };
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
async function deltaParent(repo: Repository, options: SaveShardedOptions): Promise<SnapshotManifest | undefined> {
  const id = await resolveParent(repo, options.run, options.parent);
  if (id === null) return undefined;
  try {
    return await readManifest(repo.store, id);
  } catch (e) {
    if (isEngramError(e, 'NotFound')) return undefined; // forgotten meanwhile: save without deltas
    throw e;
  }
}

/**
 * Merges the parts and commits the snapshot through repo/'s one commit (if-absent manifest, then the
 * tags): the commit point of the whole save. The parent is resolved now, at commit time.
 */
async function commit(repo: Repository, store: ObjectStore, saveId: string, options: SaveShardedOptions, parts: readonly RankPart[]): Promise<Snapshot> {
  const merged = mergeParts(saveId, parts, options);
  const parent = await resolveParent(repo, options.run, options.parent);
  const { snapshot } = await commitSnapshot({ repo, store, clock: options.clock ?? systemClock }, {
    run: options.run, step: options.step, parent, message: options.message, metrics: options.metrics,
    meta: { ...(options.meta ?? {}), 'engram.distributed': { saveId, worldSize: options.worldSize } },
    tensors: merged.tensors, blobs: merged.blobs, chunks: merged.chunks, tags: options.tags,
  });
  return snapshot;
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
