/**
 * @module Garbage collection: delete the chunk objects no live snapshot needs, without ever
 * deleting one that a save running in another process (or on another host) is about to reference.
 *
 * ## Why a concurrent save never loses a chunk
 *
 * The store gives linearizable put (if-absent), get, head, list and delete. The danger is a save
 * that decides a chunk is stored — because head() found it, because its in-memory cache says so,
 * or because it wrote it — while a GC that sees no manifest using it deletes it. The protocol
 * (save side in save-intent.ts, layout in coordination.ts):
 *
 *   save S: t1  put staging/<S>/intent.json; heartbeats every STALE_MS/4 until the end
 *           t1' list gc/; wait while a marker has no .done and is not stale; then forget the
 *               in-memory chunk cache if any GC id is new to it, and trust head() from here on
 *           …   write chunks (head() first: an existing object is reused), then the manifest,
 *               checking just before the manifest put that no heartbeat gap exceeded STALE_MS/2
 *           end delete the intent
 *   GC G:   g0  list chunks/, read every manifest (expensive; no marker yet, saves not blocked)
 *           g1  put gc/<G>.json                   (the lease starts at the clock reading before it)
 *           g3  list staging/: any intent that is not stale → delete no chunk at all
 *           g4  list snapshots/ again; mark from exactly these manifests (cached reads) and from
 *               the delta bases they name, following bases through chunk headers
 *           g5  delete unmarked chunks listed at g0 whose mtime is older than the grace period,
 *               but only while less than STALE_MS/2 has passed since g1
 *           g6  put gc/<G>.done
 *
 * Take a chunk c that S relies on and G deletes. S's intent exists from t1 until S ends.
 *   - g3 > t1 and S had not ended at g3: G sees the intent and deletes nothing.
 *   - g3 > t1 and S ended before g3: S committed its manifest before g3 < g4, so G's listing at
 *     g4 includes it and c is marked (a manifest lists every chunk it uses and their bases).
 *   - g3 < t1: then g1 < g3 < t1 < t1', so S's listing of gc/ shows G's marker. Either G was done
 *     (its deletes were over before t1', so every head() of S sees their effect), or S waits until
 *     G is done, or until the marker is stale — STALE_MS after it was written, by which time G has
 *     stopped deleting for STALE_MS/2. Only then does S trust head().
 *   - c came from the Repository's in-memory caches: chunks earlier saves found, or the chunks of
 *     a cached manifest (the parent's, seeded after t1'). G wrote its marker before it deleted c.
 *     If an earlier save of this Repository saw that marker, it waited for G as above and dropped
 *     both caches if G was new to it, so every entry added since was seen after G's deletes.
 *     Otherwise G's marker, or that of a later GC, is new to the caches at t1' — a GC removes only
 *     other GCs' markers, after writing its own, so the newest marker is never gone — and S drops
 *     them before using them.
 * The same holds for every GC separately, so concurrent GCs are safe too.
 *
 * Reading manifests before g1 does not weaken this: marks come only from the manifests listed at g4,
 * after the staging check; the early reads only fill the cache so that the marker's lifetime (the
 * time saves may have to wait) is short. Writing the marker first would be equally safe but would
 * make saves wait through the whole listing of chunks/ and the reading of every manifest.
 *
 * **Staleness.** A crashed save must not block GC forever, and a crashed GC must not block saves
 * forever, so both expire STALE_MS after their last sign of life (the later of the object's mtime
 * and the time written in it). That is only safe if the owner really stopped: a GC stops deleting
 * STALE_MS/2 after its marker (the rest is left for the next run), and a save refuses to commit if
 * its heartbeats ever left a gap of STALE_MS/2 — so a save that was paused long enough for a GC to
 * take it for crashed fails with `Conflict` instead of committing a manifest whose chunks may be
 * gone. The residual assumptions are those of any lease: clocks agree within STALE_MS/2, and no
 * single delete or manifest put takes effect more than STALE_MS/2 after it was issued.
 *
 * **Grace period.** Unreferenced chunks younger than `graceMs` (default one hour) are kept anyway,
 * as a second line of defence for writers that predate the protocol.
 */
import { EngramError, isEngramError } from '../errors/index.ts';
import { FsStore, removeEmptyDirs, removeStaleTemps, type ObjectStore } from '../store/index.ts';
import { readChunkHeader } from '../codec/index.ts';
import { chunkKey, hashOfChunkKey } from './chunk-key.ts';
import { describeOwner, gcDoneKey, gcMarkerKey, listGcMarkers, listSaveIntents, ownerRecord, STALE_MS } from './coordination.ts';
import { holdLock } from './held-locks.ts';
import { newId, type Clock } from './ids.ts';
import type { SnapshotManifest } from './manifest.ts';
import { eachConcurrently } from './each-concurrently.ts';
import { listSnapshotIds } from './manifest-store.ts';

/**
 * Room kept for a GC's own small writes on a full disk: `gc/reserve`, written at the end of every
 * GC (when there is room). A GC whose marker cannot be written (no space) deletes it and tries
 * once more, so that a full disk can still be collected — a marker is the only thing a GC must
 * write before it deletes. See docs/FAULTS.md.
 */
export const GC_RESERVE_KEY = 'gc/reserve';
const GC_RESERVE_BYTES = 64 * 1024;

/** Writes the reserve unless it exists; never throws (a full disk simply has none). */
export async function keepGcReserve(store: ObjectStore): Promise<void> {
  if (await store.head(GC_RESERVE_KEY).catch(() => undefined)) return;
  await store.put(GC_RESERVE_KEY, new Uint8Array(GC_RESERVE_BYTES), { ifAbsent: true }).catch(() => undefined);
}

/** An error of a write that failed for want of space (ENOSPC, EDQUOT), as the stores report it. */
function outOfSpace(e: unknown): boolean {
  const errno = isEngramError(e) ? e.data.errno : (e as NodeJS.ErrnoException)?.code;
  return errno === 'ENOSPC' || errno === 'EDQUOT';
}

/** Puts the marker, spending the reserve when the disk is full; IOError saying what to do when even that fails. */
async function putMarker(store: ObjectStore, key: string, body: Uint8Array): Promise<void> {
  try {
    await store.put(key, body, { ifAbsent: true });
    return;
  } catch (e) {
    if (!outOfSpace(e)) throw e;
    const reserve = await store.head(GC_RESERVE_KEY).catch(() => undefined);
    if (!reserve) {
      throw new EngramError('IOError', `no space left for gc's marker (${key}, a few hundred bytes) and no ${GC_RESERVE_KEY} to spend; free a little space on the device (no chunk was deleted) and run gc again`, { key, errno: 'ENOSPC' }, { cause: e });
    }
  }
  await store.delete(GC_RESERVE_KEY);
  await store.put(key, body, { ifAbsent: true });
}

/** Default grace period: unreferenced chunks younger than this are kept. */
export const DEFAULT_GRACE_MS = 60 * 60_000;

/** Bytes of a chunk header that hold its delta base (fixed header 16 + base hash 32). */
const HEADER_PROBE = 48;

/** Options of {@link Repository.gc}. */
export interface GcOptions {
  /** Keep unreferenced chunks younger than this (default one hour). */
  readonly graceMs?: number;
  /** Report what would be deleted, write and delete nothing. */
  readonly dryRun?: boolean;
  /** Progress of reading manifests (`mark`) and deleting (`sweep`). */
  readonly onProgress?: (p: { readonly phase: 'mark' | 'sweep'; readonly done: number; readonly total: number }) => void;
  /** Deletes in flight at once (default 8). */
  readonly concurrency?: number;
}

/** Why a GC deleted fewer chunks than it found unreferenced. */
export interface GcSkip {
  readonly reason: 'saves-in-flight' | 'damaged-manifests' | 'deadline';
  readonly message: string;
}

/** What a GC found and did. */
export interface GcReport {
  /** The GC's marker id; null for a dry run, which writes nothing. */
  readonly id: string | null;
  readonly dryRun: boolean;
  readonly graceMs: number;
  /** Live snapshots whose chunks were marked. */
  readonly snapshots: number;
  /** Chunk objects in the store. */
  readonly chunks: number;
  /** Chunks live snapshots need, delta bases included. */
  readonly marked: number;
  /** Chunk objects no live snapshot needs. */
  readonly unreferenced: number;
  readonly unreferencedBytes: number;
  /** Deleted (in a dry run: would be deleted). */
  readonly swept: number;
  readonly sweptBytes: number;
  /** Unreferenced but younger than the grace period, so kept. */
  readonly keptYoung: number;
  readonly keptYoungBytes: number;
  /** Chunks a live snapshot needs (as a delta base) that the store lacks: `engram verify` names them. */
  readonly missing: number;
  /** Saves whose intent was live, and crashed saves' intents removed. */
  readonly savesInFlight: number;
  readonly staleIntentsRemoved: number;
  /** Markers of finished or crashed GCs removed, and fs temp files of interrupted writes. */
  readonly gcMarkersRemoved: number;
  readonly tempFilesRemoved: number;
  /** Present when the GC deleted less than it could; running it again finishes the job. */
  readonly skipped?: GcSkip;
}

/** What GC needs from its repository. */
export interface GcContext {
  readonly store: ObjectStore;
  readonly clock: Clock;
  /** Reads a manifest (cached): `IntegrityMismatch` when damaged, `NotFound` when gone. */
  readonly manifest: (id: string) => Promise<SnapshotManifest>;
}

/** The outcome of marking. */
export interface MarkResult {
  readonly marked: Set<string>;
  /** Needed bases the store lacks. */
  readonly missing: string[];
}

/**
 * Every chunk `manifests` need: the chunks of their chunk maps, the bases those record, and — for a
 * base that no given manifest lists (its own base is then recorded only in a forgotten manifest, or
 * nowhere) — the base named in its object's header, read with a small ranged get, transitively.
 */
export async function markLive(store: ObjectStore, manifests: Iterable<SnapshotManifest>, sizes?: ReadonlyMap<string, number>): Promise<MarkResult> {
  const marked = new Set<string>();
  const described = new Set<string>();
  const bases: string[] = [];
  for (const m of manifests) {
    for (const [hash, info] of Object.entries(m.chunks)) {
      marked.add(hash);
      described.add(hash);
      if (info.base) bases.push(info.base);
    }
  }
  const missing: string[] = [];
  let pending = bases.filter((b) => !marked.has(b));
  for (const b of pending) marked.add(b);
  while (pending.length > 0) {
    const next: string[] = [];
    await Promise.all(pending.filter((h) => !described.has(h)).map(async (hash) => {
      described.add(hash);
      const base = await readBase(store, hash, sizes?.get(hash));
      if (base === null) missing.push(hash);
      else if (base !== undefined && !marked.has(base)) {
        marked.add(base);
        next.push(base);
      }
    }));
    pending = next;
  }
  return { marked, missing };
}

/** The base in a chunk object's header: undefined for none (or an unreadable header), null when the object is missing. */
async function readBase(store: ObjectStore, hash: string, size: number | undefined): Promise<string | undefined | null> {
  const key = chunkKey(hash);
  let bytes: Uint8Array;
  try {
    const length = Math.min(size ?? (await store.head(key))?.size ?? 0, HEADER_PROBE);
    if (length === 0) return null;
    bytes = await store.get(key, { offset: 0, length });
  } catch (e) {
    if (isEngramError(e, 'NotFound')) return null;
    throw e;
  }
  try {
    return readChunkHeader(bytes).baseHash;
  } catch {
    return undefined; // a damaged object: verify reports it; its base cannot be known
  }
}

interface ChunkObject {
  readonly hash: string;
  readonly size: number;
  readonly mtimeMs: number;
}

async function listChunks(store: ObjectStore): Promise<ChunkObject[]> {
  const out: ChunkObject[] = [];
  for await (const o of store.list('chunks/')) {
    const hash = hashOfChunkKey(o.key);
    if (hash) out.push({ hash, size: o.size, mtimeMs: o.mtimeMs });
  }
  return out;
}

/** Reads the manifests `ids` names; damaged ones are counted, vanished ones (forgotten meanwhile) skipped. */
async function readManifests(ctx: GcContext, ids: readonly string[], onProgress?: GcOptions['onProgress']): Promise<{ manifests: SnapshotManifest[]; damaged: string[] }> {
  const manifests: SnapshotManifest[] = [];
  const damaged: string[] = [];
  let done = 0;
  await eachConcurrently(ids, 8, async (id) => {
    try {
      manifests.push(await ctx.manifest(id));
    } catch (e) {
      if (isEngramError(e, 'IntegrityMismatch') || isEngramError(e, 'Unsupported')) damaged.push(id);
      else if (!isEngramError(e, 'NotFound')) throw e;
    }
    onProgress?.({ phase: 'mark', done: ++done, total: ids.length });
  });
  return { manifests, damaged };
}

/**
 * Deletes unreferenced chunk objects older than the grace period, unless a save is in flight;
 * removes crashed saves' intents, finished GCs' markers and stale temp files. See the module comment
 * for why this is safe against saves in other processes.
 */
export async function collectGarbage(ctx: GcContext, options: GcOptions = {}): Promise<GcReport> {
  const { store, clock } = ctx;
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new EngramError('InvalidArgument', `grace period must be ≥ 0 ms, got ${graceMs}`, { graceMs });
  const dryRun = options.dryRun === true;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const cutoff = clock.now() - graceMs;

  // g0: the expensive part, before any marker, so saves are not held up by it.
  const chunks = await listChunks(store);
  const sizes = new Map(chunks.map((c) => [c.hash, c.size]));
  const early = await readManifests(ctx, await listSnapshotIds(store), options.onProgress);

  const counts = { savesInFlight: 0, staleIntentsRemoved: 0, gcMarkersRemoved: 0, tempFilesRemoved: 0 };
  let id: string | null = null;
  let leaseStart = 0;
  let manifests = early.manifests;
  let damaged = early.damaged;
  let skipped: GcSkip | undefined;

  const finish = (marked: MarkResult | undefined, swept: ChunkObject[], remainingSkip?: GcSkip): GcReport => {
    const live = marked?.marked ?? new Set<string>();
    const unreferenced = chunks.filter((c) => !live.has(c.hash));
    const young = unreferenced.filter((c) => c.mtimeMs > cutoff);
    const sum = (list: ChunkObject[]): number => list.reduce((n, c) => n + c.size, 0);
    const skip = remainingSkip ?? skipped;
    return {
      id, dryRun, graceMs, snapshots: manifests.length, chunks: chunks.length, marked: live.size,
      unreferenced: unreferenced.length, unreferencedBytes: sum(unreferenced),
      swept: swept.length, sweptBytes: sum(swept), keptYoung: young.length, keptYoungBytes: sum(young),
      missing: marked?.missing.length ?? 0, ...counts, ...(skip ? { skipped: skip } : {}),
    };
  };

  if (dryRun) {
    const intents = await listSaveIntents(store, clock.now());
    counts.savesInFlight = intents.filter((i) => !i.stale).length;
    if (damaged.length > 0) {
      skipped = damagedSkip(damaged.length);
      return finish(undefined, []);
    }
    const marked = await markLive(store, manifests, sizes);
    return finish(marked, chunks.filter((c) => !marked.marked.has(c.hash) && c.mtimeMs <= cutoff));
  }

  // g1: from here until .done, saves that start wait for us.
  id = newId(clock);
  leaseStart = clock.now();
  const gcId = id;
  // A process ending on a signal releases the marker (held-locks.ts): no delete is issued after
  // `stopping`, the batch in flight lands, and only then does `.done` say so.
  let stopping = false;
  let deleting: Promise<unknown> = Promise.resolve();
  const marking = putMarker(store, gcMarkerKey(gcId), ownerRecord(leaseStart, { graceMs }));
  const unhold = holdLock({
    release: async () => {
      stopping = true;
      await marking.catch(() => undefined);
      await deleting.catch(() => undefined);
      const done = await store.put(gcDoneKey(gcId), ownerRecord(clock.now()), { ifAbsent: true }).then(() => true, () => false);
      // No room for `.done`: without its marker a GC counts as finished just the same.
      if (!done) await store.delete(gcMarkerKey(gcId));
    },
  });
  try {
    await marking;
  } catch (e) {
    unhold();
    throw e;
  }
  try {
    // Other GCs' markers: finished or crashed ones go (ours, the newest, stays: see the cache argument).
    for (const g of await listGcMarkers(store, clock.now())) {
      if (g.gcId === id || !(g.done || g.stale)) continue;
      // The marker before its .done, so no listing ever shows a marker without .done that had one.
      for (const key of [...g.keys.filter((k) => k.endsWith('.json')), ...g.keys.filter((k) => !k.endsWith('.json'))]) await store.delete(key);
      counts.gcMarkersRemoved++;
    }

    // g3: any live save may be reusing an orphan it found with head(): then delete no chunk.
    const intents = await listSaveIntents(store, clock.now());
    const live = intents.filter((i) => !i.stale);
    counts.savesInFlight = live.length;
    for (const stale of intents.filter((i) => i.stale)) {
      for (const key of stale.keys) await store.delete(key);
      counts.staleIntentsRemoved++;
    }
    if (live.length > 0) {
      const who = live.slice(0, 3).map((i) => `${i.saveId} (${describeOwner(i.owner)})`).join(', ');
      skipped = {
        reason: 'saves-in-flight',
        message: `${live.length} save${live.length === 1 ? '' : 's'} in flight; no chunk was deleted. Run gc again when ${live.length === 1 ? 'it finishes' : 'they finish'}. In flight: ${who}${live.length > 3 ? ', …' : ''}.`,
      };
      return finish(await markLive(store, manifests, sizes), []);
    }

    // g4: mark from exactly the manifests that exist now (reads are cached from g0).
    ({ manifests, damaged } = await readManifests(ctx, await listSnapshotIds(store)));
    if (damaged.length > 0) {
      skipped = damagedSkip(damaged.length);
      return finish(undefined, []);
    }
    const marked = await markLive(store, manifests, sizes);
    const candidates = chunks.filter((c) => !marked.marked.has(c.hash) && c.mtimeMs <= cutoff);

    // g5: delete within the lease; what is left waits for the next run.
    const swept: ChunkObject[] = [];
    for (let i = 0; i < candidates.length; i += concurrency) {
      if (stopping) return finish(marked, swept, { reason: 'deadline', message: 'interrupted; run gc again' });
      if (clock.now() - leaseStart >= STALE_MS / 2) {
        const left = candidates.length - i;
        return finish(marked, swept, {
          reason: 'deadline',
          message: `stopped deleting after ${STALE_MS / 120_000} minutes (so that waiting saves may proceed) with ${left} chunks left; run gc again`,
        });
      }
      const batch = candidates.slice(i, i + concurrency);
      // Settled, not Promise.all: on a failure none of the batch may still be in flight when
      // `.done` (or a release) says this GC deletes nothing more.
      deleting = Promise.allSettled(batch.map((c) => store.delete(chunkKey(c.hash))));
      const failed = (await (deleting as Promise<PromiseSettledResult<void>[]>)).find((x) => x.status === 'rejected');
      if (failed) throw failed.reason;
      swept.push(...batch);
      options.onProgress?.({ phase: 'sweep', done: swept.length, total: candidates.length });
    }
    if (store instanceof FsStore) {
      // Temp files of interrupted writes; a write in progress never takes this long. Old empty
      // save directories would otherwise accumulate one per save.
      counts.tempFilesRemoved = await removeStaleTemps(store.root, Math.max(graceMs, STALE_MS), clock.now());
      await removeEmptyDirs(store.root, 'staging', STALE_MS, clock.now());
    }
    return finish(marked, swept);
  } finally {
    // g6: written on failure too — it only says that this GC deletes nothing more. With no room
    // even for that (nothing could be deleted), removing the marker says the same. The lock is
    // held until then, so a signal meanwhile still waits for it.
    try {
      await store.put(gcDoneKey(gcId), ownerRecord(clock.now()), { ifAbsent: true }).catch(async (e: unknown) => {
        if (!outOfSpace(e)) throw e;
        await store.delete(gcMarkerKey(gcId));
      });
    } finally {
      unhold();
    }
    await keepGcReserve(store);
  }
}

function damagedSkip(n: number): GcSkip {
  return {
    reason: 'damaged-manifests',
    message: `${n} snapshot manifest${n === 1 ? ' is' : 's are'} damaged, so the chunks ${n === 1 ? 'it needs' : 'they need'} are unknown; no chunk was deleted. Run \`engram verify\`.`,
  };
}
