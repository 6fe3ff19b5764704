/**
 * @module The save side of the save/GC protocol (argued in gc.ts): announce the save with an intent,
 * wait out any GC that is deleting, keep the intent alive while the save runs, and refuse to commit
 * if it may have lapsed.
 */
import { EngramError } from '../errors/index.ts';
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from '../store/index.ts';
import { beatKey, beatRecord, intentKey, listGcMarkers, ownerRecord, STALE_MS, type GcMarkerInfo } from './coordination.ts';
import { holdLock } from './held-locks.ts';
import { newId, type Clock } from './ids.ts';

/** What a save waiting for a GC is told at each poll. */
export interface SaveWait {
  /** The GCs that may be deleting chunks now. */
  readonly gcs: readonly GcMarkerInfo[];
  /** How long the save has waited so far, and at most will, in ms. */
  readonly waitedMs: number;
  readonly maxWaitMs: number;
  /** When each GC's marker expires if it shows no sign of life (ms since the epoch), by GC id. */
  readonly expiresAt: ReadonlyMap<string, number>;
}

/** Options of {@link beginSave}. */
export interface BeginSaveOptions {
  /** Give up waiting for a running GC after this long (default 2 × STALE_MS): `Conflict`. */
  readonly maxWaitMs?: number;
  /** Sleeps between polls of `gc/` (injectable for tests). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Told which GCs the save waits for and for how long, once per poll (a front end prints it). */
  readonly onWait?: (wait: SaveWait) => void;
}

/** A save announced in `staging/`. */
export interface SaveIntent {
  readonly id: string;
  /** Every GC id present in `gc/` once the save stopped waiting (see Repository's chunk cache). */
  readonly gcIds: ReadonlySet<string>;
  /** GCs the save waited for. */
  readonly waitedFor: readonly string[];
  /** Throws `Conflict` unless the intent has stayed alive without a gap since it was written. */
  assertLive(): void;
  /** `store`, except that writing a snapshot manifest first calls {@link assertLive}. */
  guard(store: ObjectStore): ObjectStore;
  /**
   * Stops the heartbeat and deletes the intent. Call it whether the save succeeded or not. Never
   * throws: an intent it fails to delete only delays GC until it is stale.
   */
  end(): Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

/**
 * Writes `staging/<save-id>/intent.json`, then waits while `gc/` shows a GC that is neither done
 * nor stale. From then until {@link SaveIntent.end}, a heartbeat object is written every
 * STALE_MS / 4 so that a long save never looks crashed.
 *
 * @example
 * const intent = await beginSave(store, clock);
 * try { await saveSnapshot({ store: intent.guard(store), … }, …); } finally { await intent.end(); }
 */
export async function beginSave(store: ObjectStore, clock: Clock, options: BeginSaveOptions = {}): Promise<SaveIntent> {
  const id = newId(clock);
  const started = clock.now();
  // Not durable: an intent only has to be visible to a GC in another process; a crash of the
  // machine ends the save it announces as well.
  const putting = store.put(intentKey(id), ownerRecord(started), { ifAbsent: true, durable: false });
  // A signal may come while the put is in flight: the intent is then removed once it has landed.
  const unhold = holdLock({ release: async () => { await putting.catch(() => undefined); await store.delete(intentKey(id)); } });
  let created: boolean;
  try {
    created = await putting;
  } finally {
    unhold();
  }
  if (!created) throw new EngramError('Conflict', `save intent ${id} already exists`, { save: id });
  const intent = new LiveIntent(store, clock, id, started);
  try {
    await intent.waitForGc(options);
  } catch (e) {
    await intent.end();
    throw e;
  }
  return intent;
}

class LiveIntent implements SaveIntent {
  readonly id: string;
  gcIds: ReadonlySet<string> = new Set();
  waitedFor: string[] = [];
  readonly #store: ObjectStore;
  readonly #clock: Clock;
  /** Start of the newest heartbeat write that succeeded: the object's age is at most now − this. */
  #lastStart: number;
  #lapsed: string | undefined;
  #beatKey: string | undefined;
  #beating: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #ended = false;
  #ending: Promise<void> | undefined;
  /** Manifest puts past {@link assertLive}: a release waits for them before it removes the intent. */
  readonly #commits = new Set<Promise<unknown>>();
  readonly #unhold: () => void;

  constructor(store: ObjectStore, clock: Clock, id: string, started: number) {
    this.#store = store;
    this.#clock = clock;
    this.id = id;
    this.#lastStart = started;
    this.#timer = setInterval(() => void this.#beat(), STALE_MS / 4);
    this.#timer.unref();
    this.#unhold = holdLock({ release: () => this.#release() });
  }

  /**
   * The process is ending: no commit from now on, then the intent goes. A manifest put already
   * past the check is waited for first — removing the intent before it lands would let a GC that
   * lists snapshots before it lands delete the chunks it needs.
   */
  async #release(): Promise<void> {
    this.#lapsed ??= 'the process is ending';
    await Promise.allSettled([...this.#commits]);
    await this.end();
  }

  async waitForGc(options: BeginSaveOptions): Promise<void> {
    const sleep = options.sleep ?? realSleep;
    const maxWait = options.maxWaitMs ?? 2 * STALE_MS;
    const start = this.#clock.now();
    let delay = 20;
    const waited = new Set<string>();
    for (;;) {
      const markers = await listGcMarkers(this.#store, this.#clock.now());
      const runningGcs = markers.filter((m) => !m.done && !m.stale);
      const running = runningGcs.map((m) => m.gcId);
      if (running.length === 0) {
        this.gcIds = new Set(markers.map((m) => m.gcId));
        this.waitedFor = [...waited];
        return;
      }
      if (this.#clock.now() - start > maxWait) {
        throw new EngramError('Conflict', `garbage collection ${running.join(', ')} has been running for over ${Math.round(maxWait / 1000)} s; retry the save when it finishes`, { gc: running });
      }
      for (const g of running) waited.add(g);
      options.onWait?.({
        gcs: runningGcs, waitedMs: this.#clock.now() - start, maxWaitMs: maxWait,
        expiresAt: new Map(runningGcs.map((g) => [g.gcId, g.aliveAt + STALE_MS])),
      });
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
    }
  }

  /**
   * Writes a new beat object, then deletes the previous one. A gap between two beats longer than
   * STALE_MS / 2 (a paused process, a stalled store) lapses the intent for good: a GC may have taken
   * it for a crashed save in that gap, so this save must not commit.
   */
  async #beat(): Promise<void> {
    if (this.#beating || this.#ended) return;
    const start = this.#clock.now();
    const key = beatKey(this.id, newId(this.#clock));
    this.#beating = (async () => {
      try {
        await this.#store.put(key, beatRecord(start), { ifAbsent: true, durable: false });
      } catch {
        return; // the gap keeps growing; assertLive notices when it matters
      }
      if (this.#clock.now() - this.#lastStart >= STALE_MS / 2) this.#lapsed ??= 'its heartbeat stopped for too long';
      this.#lastStart = start;
      const previous = this.#beatKey;
      this.#beatKey = key;
      if (previous) await this.#store.delete(previous).catch(() => undefined);
    })().finally(() => {
      this.#beating = undefined;
    });
    await this.#beating;
  }

  assertLive(): void {
    const gap = this.#clock.now() - this.#lastStart;
    const why = this.#lapsed ?? (gap >= STALE_MS / 2 ? `its heartbeat is ${Math.round(gap / 1000)} s old` : undefined);
    if (why !== undefined) {
      throw new EngramError('Conflict', `save ${this.id} lost its claim on the repository (${why}); a garbage collection may have removed chunks it reused, so it did not commit. Retry the save.`, { save: this.id });
    }
  }

  guard(store: ObjectStore): ObjectStore {
    return new CommitGuard(store, () => this.assertLive(), (p) => {
      this.#commits.add(p);
      void p.catch(() => undefined).finally(() => this.#commits.delete(p));
    });
  }

  end(): Promise<void> {
    // One promise for every caller: a release that comes while the save is ending must wait for
    // the same deletes, and the lock stays held until they are done.
    this.#ending ??= (async () => {
      this.#ended = true;
      clearInterval(this.#timer);
      await this.#beating;
      const keys = [...(this.#beatKey ? [this.#beatKey] : []), intentKey(this.id)];
      for (const key of keys) await this.#store.delete(key).catch(() => undefined);
      this.#unhold();
    })();
    return this.#ending;
  }
}

/** Passes everything through, checking the save's claim just before its manifest (the commit) is written. */
class CommitGuard implements ObjectStore {
  readonly #inner: ObjectStore;
  readonly #check: () => void;
  readonly #track: (commit: Promise<unknown>) => void;
  constructor(inner: ObjectStore, check: () => void, track: (commit: Promise<unknown>) => void) {
    this.#inner = inner;
    this.#check = check;
    this.#track = track;
  }
  get location(): string { return this.#inner.location; }
  get(key: string, range?: ByteRange): Promise<Uint8Array> { return this.#inner.get(key, range); }
  put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean> {
    if (!key.startsWith('snapshots/')) return this.#inner.put(key, data, options);
    this.#check();
    const commit = this.#inner.put(key, data, options);
    this.#track(commit);
    return commit;
  }
  head(key: string): Promise<ObjectInfo | undefined> { return this.#inner.head(key); }
  list(prefix: string): AsyncIterable<ObjectInfo> { return this.#inner.list(prefix); }
  delete(key: string): Promise<void> { return this.#inner.delete(key); }
  missing(keys: readonly string[]): Promise<string[]> { return this.#inner.missing(keys); }
  close(): Promise<void> { return this.#inner.close(); }
}
