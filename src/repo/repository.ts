/**
 * @module Repository: the library's entry point. Opens a repository by path or URL, saves
 * snapshots, resolves refs, moves tags, verifies and reports storage figures.
 */
import { CodecPool } from '../codec/index.ts';
import { EngramError, isEngramError } from '../errors/index.ts';
import { FsStore, openStore, type ObjectStore } from '../store/index.ts';
import { ChunkReader } from './chunk-reader.ts';
import { checkSaveHeader, resolveParent } from './commit-snapshot.ts';
import { defaultConfig, validateConfig, type RepoConfig, type RepoConfigOptions } from './config.ts';
import { collectGarbage, keepGcReserve, type GcOptions, type GcReport } from './gc.ts';
import { systemClock, type Clock } from './ids.ts';
import { logicalBytes, manifestKey, type ChunkInfo, type SnapshotManifest } from './manifest.ts';
import { listSnapshotIds, readManifest } from './manifest-store.ts';
import { checkRefName, checkRunName } from './ref-name.ts';
import { RefStore, type RefEvent } from './ref-store.ts';
import { repoStats, type RepoStats } from './repo-stats.ts';
import { newestHeadEvent, resolveRef, runLatest, type RefScope } from './resolve-ref.ts';
import { planRetention, type RetentionPlan, type RetentionPolicy } from './retention.ts';
import { runHead } from './run-head.ts';
import type { SaveOptions } from './save-input.ts';
import { beginSave, type SaveIntent } from './save-intent.ts';
import { saveSnapshot } from './save-snapshot.ts';
import { Snapshot, type FileTensorDecoder } from './snapshot.ts';
import { verifyManifests, type VerifyFinding, type VerifyReport } from './verify.ts';

const CONFIG_KEY = 'config.json';

/** Options of {@link Repository.open} and {@link Repository.init}. */
export interface OpenOptions {
  /** Use this store instead of opening one from the location. */
  readonly store?: ObjectStore;
  readonly clock?: Clock;
  /** Chunks in flight at once during save and restore (default 8). */
  readonly concurrency?: number;
  /**
   * Reads a tensor held only inside a saved file (a compressed `.npz` member, a gzip-chunked HDF5
   * dataset) from the rebuilt file: pass formats' `decodeFileTensor` (the CLI does). Without it,
   * loading such a tensor is `Unsupported`; restoring the file works either way.
   */
  readonly fileTensors?: FileTensorDecoder;
  /**
   * Bytes of decoded chunks kept for reuse (default 64 MiB). A reader that visits each chunk once,
   * in order (an export streaming tensors to a file), needs little more than one chunk.
   */
  readonly chunkCacheBytes?: number;
}

/** What {@link Repository.forget} planned and did. */
export interface ForgetResult extends RetentionPlan {
  readonly dryRun: boolean;
  /** Ids whose manifests were deleted (empty in a dry run). */
  readonly forgotten: readonly string[];
}

/** A summary row of `log`: the manifest's header, and how many tensors, files and bytes it holds. */
export interface SnapshotSummary extends Pick<SnapshotManifest, 'id' | 'run' | 'step' | 'parent' | 'createdAt' | 'message' | 'metrics'> {
  readonly tensors: number;
  readonly files: number;
  readonly bytes: number;
}

/**
 * An engram repository.
 *
 * @example
 * const repo = await Repository.init('./.engram');
 * const snap = await repo.save({ run: 'r1', step: 10, tensors: { 'model/w': tensor } });
 * const w = await (await repo.snapshot('r1@latest')).tensor('model/w');
 */
export class Repository {
  readonly store: ObjectStore;
  readonly config: RepoConfig;
  readonly refs: RefStore;
  /** Run heads moved by {@link rollback}: `heads/<run>/<event-id>.json` (run-head.ts). */
  readonly heads: RefStore;
  /**
   * The codec pool every chunk this repository reads or writes is encoded or decoded on (the
   * process-wide shared pool), passed to its ChunkReader and to every WriteSession.
   */
  readonly codecs: CodecPool;
  readonly #clock: Clock;
  readonly #concurrency: number;
  readonly #known = new Map<string, ChunkInfo>();
  readonly #manifests = new Map<string, SnapshotManifest>();
  /** GC ids in `gc/` when the last save began: a new one means #known may list deleted chunks. */
  #gcSeen: ReadonlySet<string> | undefined;
  readonly #reader: ChunkReader;
  readonly #decoder: FileTensorDecoder | undefined;
  /** What ref resolution reads: the manifest cache, tags and run heads. */
  readonly #scope: RefScope;

  private constructor(store: ObjectStore, config: RepoConfig, options: OpenOptions) {
    this.store = store;
    this.config = config;
    this.#clock = options.clock ?? systemClock;
    this.#concurrency = options.concurrency ?? 8;
    this.refs = new RefStore(store, this.#clock);
    this.heads = new RefStore(store, this.#clock, 'heads/');
    this.codecs = CodecPool.shared();
    this.#reader = new ChunkReader(store, { pool: this.codecs, ...(options.chunkCacheBytes !== undefined ? { cacheBytes: options.chunkCacheBytes } : {}) });
    this.#decoder = options.fileTensors;
    this.#scope = {
      store, refs: this.refs, heads: this.heads,
      manifest: (id) => this.manifest(id),
      isCached: (id) => this.#manifests.has(id),
      manifests: async () => (await this.#allManifests()).manifests,
    };
  }

  /** Creates a repository (refusing with `Conflict` if one exists there) and opens it. */
  static async init(location: string, options: OpenOptions & RepoConfigOptions = {}): Promise<Repository> {
    const store = options.store ?? (await openStore(location));
    const config = defaultConfig(options, new Date((options.clock ?? systemClock).now()));
    const created = await store.put(CONFIG_KEY, new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n'), { ifAbsent: true });
    if (!created) throw new EngramError('Conflict', `${store.location} is already an engram repository`, { location: store.location });
    await keepGcReserve(store);
    return new Repository(store, config, options);
  }

  /** Opens an existing repository; `NotFound` when there is none. */
  static async open(location: string, options: OpenOptions = {}): Promise<Repository> {
    const store = options.store ?? (await openStore(location));
    let raw: Uint8Array;
    try {
      raw = await store.get(CONFIG_KEY);
    } catch (e) {
      if (isEngramError(e, 'NotFound')) {
        throw new EngramError('NotFound', `no engram repository at ${store.location}; create one with \`engram init\``, { location: store.location }, { cause: e });
      }
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(raw));
    } catch (e) {
      throw new EngramError('IntegrityMismatch', `config.json of ${store.location} is not valid JSON`, { location: store.location }, { cause: e });
    }
    return new Repository(store, validateConfig(parsed), options);
  }

  /** The directory of a repository on the local file system, or undefined for other stores. */
  get localDirectory(): string | undefined {
    return this.store instanceof FsStore ? this.store.location : undefined;
  }

  /** Closes the underlying store. */
  async close(): Promise<void> {
    await this.store.close();
  }

  /**
   * Saves a snapshot: chunks first, manifest last, then tags. Returns the committed snapshot.
   * Unchanged tensors cost a hash, not a write. The whole save runs under a save intent, so a GC in
   * another process never deletes a chunk it relies on (gc.ts argues why).
   */
  async save(options: SaveOptions): Promise<Snapshot> {
    const intent = await this.#beginSave(options.onWait);
    try {
      return await this.#saveUnderIntent(options, intent.guard(this.store));
    } finally {
      await intent.end();
    }
  }

  /**
   * Announces a save (save-intent.ts) and, when a GC this Repository has not seen has run since its
   * caches were filled, drops them: that GC may have deleted chunks the known-chunk cache lists, and
   * chunks of cached manifests that another process has forgotten since (the save seeds the cache
   * from its parent's manifest, which must therefore still exist).
   */
  async #beginSave(onWait: SaveOptions['onWait']): Promise<SaveIntent> {
    const intent = await beginSave(this.store, this.#clock, onWait ? { onWait } : {});
    const seen = this.#gcSeen;
    if (!seen || [...intent.gcIds].some((g) => !seen.has(g))) {
      this.#known.clear();
      this.#manifests.clear();
    }
    this.#gcSeen = intent.gcIds;
    return intent;
  }

  async #saveUnderIntent(options: SaveOptions, store: ObjectStore): Promise<Snapshot> {
    checkSaveHeader(options);
    const parent = await resolveParent(this, options.run, options.parent);
    const step = options.step ?? nextStep(await runLatest(this.#scope, options.run));
    const parentManifest = parent ? await this.manifest(parent) : undefined;
    const { snapshot } = await saveSnapshot(
      {
        store, config: this.config, codecs: this.codecs, clock: this.#clock, known: this.#known, concurrency: this.#concurrency,
        ...(parentManifest ? { parent: parentManifest } : {}), readChunk: (hash, item) => this.#reader.chunk(hash, item), repo: this,
      },
      { run: options.run, step, parent },
      options,
    );
    return snapshot;
  }

  /**
   * A snapshot handle for a manifest this repository's store already holds, committed by another
   * handle on it (the checkpoint commit thread passes it back), without reading it again: a training
   * loop that rarely yields would otherwise wait several turns of its event loop for the read.
   */
  adoptSnapshot(manifest: SnapshotManifest): Snapshot {
    this.#manifests.set(manifest.id, manifest);
    return new Snapshot(manifest, this.#reader, this.#decoder);
  }

  /** Reads one manifest (cached: manifests are immutable). */
  async manifest(id: string): Promise<SnapshotManifest> {
    const hit = this.#manifests.get(id);
    if (hit) return hit;
    const m = await readManifest(this.store, id);
    this.#manifests.set(id, m);
    return m;
  }

  /** Ids of every committed snapshot, oldest first. */
  async snapshotIds(): Promise<string[]> {
    return listSnapshotIds(this.store);
  }

  /**
   * Reads every manifest; damaged ones are returned separately instead of failing the listing. A
   * manifest listed and then gone before its read was forgotten meanwhile (`forget` in another
   * process): it is skipped, as if the listing had come a moment later, so that a save resolving
   * its parent or `run@latest` never fails because an older snapshot was removed under it.
   */
  async #allManifests(): Promise<{ manifests: SnapshotManifest[]; damaged: VerifyFinding[] }> {
    const manifests: SnapshotManifest[] = [];
    const damaged: VerifyFinding[] = [];
    const ids = await this.snapshotIds();
    await Promise.all(ids.map(async (id) => {
      try {
        manifests.push(await this.manifest(id));
      } catch (e) {
        if (isEngramError(e, 'NotFound')) return;
        if (!isEngramError(e, 'IntegrityMismatch')) throw e;
        damaged.push({ kind: 'damaged-manifest', message: e.message, snapshot: id });
      }
    }));
    manifests.sort((a, b) => (a.id < b.id ? -1 : 1));
    return { manifests, damaged };
  }

  /** Summaries of every snapshot (of one run, if given), oldest first. */
  async log(run?: string): Promise<SnapshotSummary[]> {
    const { manifests } = await this.#allManifests();
    return manifests.filter((m) => run === undefined || m.run === run).map((m) => ({
      id: m.id, run: m.run, step: m.step, parent: m.parent, createdAt: m.createdAt, message: m.message,
      metrics: m.metrics, tensors: Object.keys(m.tensors).length, files: m.files.length, bytes: logicalBytes(m),
    }));
  }

  /** Names of every run. */
  async runs(): Promise<string[]> {
    const { manifests } = await this.#allManifests();
    return [...new Set(manifests.map((m) => m.run))].sort();
  }

  /** Each run's head (what `run@latest` names), by run name. */
  async runHeads(): Promise<Map<string, string>> {
    const byRun = new Map<string, SnapshotManifest[]>();
    for (const m of (await this.#allManifests()).manifests) byRun.set(m.run, [...(byRun.get(m.run) ?? []), m]);
    const out = new Map<string, string>();
    await Promise.all([...byRun].map(async ([run, ms]) => {
      const head = await runLatest(this.#scope, run, ms);
      if (head) out.set(run, head.id);
    }));
    return out;
  }

  /**
   * Makes the snapshot `ref` names the head of `run` again, as a new head event: afterwards
   * `run@latest` resolves to it, and a save without an explicit parent descends from it, until a
   * newer save in the run. Nothing is deleted; the snapshots after it stay addressable. `ref` must
   * name a snapshot of `run` (`InvalidArgument` otherwise). Returns the event, whose `previous` is
   * the head before the rollback.
   *
   * @example
   * await repo.rollback('mlp', 'mlp@best:val_loss', 'loss diverged after step 4000');
   */
  async rollback(run: string, ref: string, message = ''): Promise<RefEvent> {
    checkRunName(run);
    const id = await this.resolve(ref);
    const target = await this.manifest(id);
    if (target.run !== run) {
      throw new EngramError('InvalidArgument', `${ref} is snapshot ${id} of run ${target.run}, not of run ${run}; a rollback moves a run's head within the run`, { run, ref, snapshot: id });
    }
    let current: SnapshotManifest | undefined;
    try {
      current = await runLatest(this.#scope, run);
    } catch (e) {
      // A damaged newest head event: this rollback is how it is repaired (the new event supersedes it).
      if (!isEngramError(e, 'IntegrityMismatch') || typeof e.data.key !== 'string' || !e.data.key.startsWith('heads/')) throw e;
    }
    return this.heads.move(run, id, message || `rollback to ${run}@${target.step}`, { previous: current?.id ?? null });
  }

  /** Every rollback of `run` (head events), oldest first. */
  async headHistory(run: string): Promise<RefEvent[]> {
    return this.heads.history(checkRunName(run));
  }

  /** Resolves a ref (DESIGN §2 syntax) to a snapshot id. */
  async resolve(ref: string): Promise<string> {
    return resolveRef(this.#scope, ref);
  }

  /** Opens the snapshot a ref names. */
  async snapshot(ref: string): Promise<Snapshot> {
    return new Snapshot(await this.manifest(await this.resolve(ref)), this.#reader, this.#decoder);
  }

  /** Points tag `name` at the snapshot `ref` names, appending a move event to its history. */
  async tag(name: string, ref: string, message = ''): Promise<RefEvent> {
    return this.refs.move(checkRefName(name), await this.resolve(ref), message);
  }

  /** Every move of tag `name`, oldest first. */
  async tagHistory(name: string): Promise<RefEvent[]> {
    return this.refs.history(name);
  }

  /** Every tag and the snapshot id it points at. */
  async tags(): Promise<Map<string, string>> {
    return this.refs.list();
  }

  /** Re-reads and re-hashes every chunk of every snapshot; returns findings, never throws for damage. */
  async verify(options: { onProgress?: (done: number, total: number) => void } = {}): Promise<VerifyReport> {
    const { manifests, damaged } = await this.#allManifests();
    const tags = await this.refs.scan();
    const heads = await this.heads.scan();
    const refFindings: VerifyFinding[] = [...tags.damaged, ...heads.damaged].map((d) => ({ kind: 'damaged-ref', message: d.message, ref: d.name, key: d.key }));
    return verifyManifests(this.store, this.codecs, manifests, [...damaged, ...refFindings], tags.targets, options.onProgress);
  }

  /**
   * Applies a retention policy: deletes the manifests of the snapshots no rule keeps (their chunks
   * stay until {@link gc}) and returns the plan with what was deleted. A dry run deletes nothing.
   * Damaged manifests are never forgotten; `NotFound` when `policy.run` has no snapshot.
   *
   * @example
   * await repo.forget({ rules: [{ kind: 'last', n: 3 }, { kind: 'best', metric: 'loss', n: 1 }] });
   * await repo.gc();
   */
  async forget(policy: RetentionPolicy, options: { dryRun?: boolean } = {}): Promise<ForgetResult> {
    const { manifests } = await this.#allManifests();
    if (policy.run !== undefined && !manifests.some((m) => m.run === policy.run)) {
      throw new EngramError('NotFound', `no snapshots in run ${policy.run}; \`engram log\` lists runs`, { run: policy.run });
    }
    const heads = new Map<string, string>();
    for (const run of policy.run !== undefined ? [policy.run] : new Set(manifests.map((m) => m.run))) {
      const event = await newestHeadEvent(this.heads, run);
      // Only a rolled-back run's head can differ from the newest step, which the plan knows itself.
      const head = event ? runHead(manifests.filter((m) => m.run === run), event) : undefined;
      if (head) heads.set(run, head.id);
    }
    const plan = planRetention(manifests, await this.tags(), policy, heads);
    if (options.dryRun) return { ...plan, dryRun: true, forgotten: [] };
    // A tag may have moved onto a planned snapshot since the plan was made: that one stays.
    const taggedNow = policy.keepTagged === false ? new Set<string>() : new Set((await this.tags()).values());
    const forgotten: string[] = [];
    for (const d of plan.forget) {
      if (taggedNow.has(d.id)) continue;
      const m = this.#manifests.get(d.id);
      await this.store.delete(manifestKey(d.id));
      this.#manifests.delete(d.id);
      // Its chunks may be swept by any GC from now on: stop vouching for them.
      for (const [h, info] of Object.entries(m?.chunks ?? {})) {
        this.#known.delete(h);
        if (info.base) this.#known.delete(info.base);
      }
      forgotten.push(d.id);
    }
    return { ...plan, dryRun: false, forgotten };
  }

  /**
   * Deletes chunk objects no live snapshot needs (delta bases followed) that are older than the
   * grace period — unless a save is in flight in any process, in which case it deletes no chunk and
   * says so in `skipped`. Returns what it found and did; see gc.ts for the protocol.
   */
  async gc(options: GcOptions = {}): Promise<GcReport> {
    const report = await collectGarbage({ store: this.store, clock: this.#clock, manifest: (id) => this.manifest(id) }, options);
    if (report.swept > 0) this.#known.clear();
    return report;
  }

  /** Storage figures: logical, unique and stored bytes, and the ratios between them. */
  async stats(): Promise<RepoStats> {
    return repoStats(this.store, (await this.#allManifests()).manifests, this.#clock);
  }
}

/** The step a save takes when it names none: one past the run's head, 0 for a new run. */
function nextStep(head: SnapshotManifest | undefined): number {
  return head ? head.step + 1 : 0;
}
