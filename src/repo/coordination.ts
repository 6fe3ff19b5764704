/**
 * @module The objects saves and GC use to see each other across processes and hosts (the safety
 * argument is at the top of gc.ts):
 *
 *   staging/<save-id>/intent.json   a save in flight: {startedAt, host, pid}
 *   staging/<save-id>/beat-<id>.json  its heartbeat, renewed every STALE_MS / 4
 *   gc/<gc-id>.json                 a GC that may delete chunks: {startedAt, host, pid}
 *   gc/<gc-id>.done                 that GC deletes nothing more
 *
 * Every one of them is a new object (if-absent put); nothing is rewritten, so a heartbeat is a new
 * beat object and the previous one is deleted afterwards.
 *
 * An owner is dead when its sign of life is older than STALE_MS — or, at once, when it ran on this
 * machine and its process is gone (process-identity.ts). The second rule is as safe as the first:
 * a process that no longer exists can neither delete a chunk nor commit a manifest. Other hosts
 * keep the time-based lease, and so does any owner this machine cannot identify for certain.
 */
import { isEngramError } from '../errors/index.ts';
import type { ObjectStore } from '../store/index.ts';
import { currentProcess, processGone, type ProcessIdentity } from './process-identity.ts';

/**
 * How long a save intent or a GC marker may go unrenewed before others treat its owner as dead.
 * A repository-wide constant rather than an option: the safety argument needs saves and GCs to
 * agree on it, and a GC run with a shorter one would take live saves for crashed ones.
 */
export const STALE_MS = 10 * 60_000;

/** Key of a save's intent. */
export function intentKey(saveId: string): string {
  return `staging/${saveId}/intent.json`;
}

/** Key of one heartbeat of a save. */
export function beatKey(saveId: string, beatId: string): string {
  return `staging/${saveId}/beat-${beatId}.json`;
}

/** Key of a GC's marker: the GC may be deleting chunks. */
export function gcMarkerKey(gcId: string): string {
  return `gc/${gcId}.json`;
}

/** Key of a GC's completion: it deletes nothing more. */
export function gcDoneKey(gcId: string): string {
  return `gc/${gcId}.done`;
}

/** Who wrote a coordination object, for messages and for staleness. */
export interface OwnerRecord extends ProcessIdentity {
  readonly startedAt: string;
}

/** The body of an intent or a GC marker started at `now`. */
export function ownerRecord(now: number, extra: Record<string, unknown> = {}): Uint8Array {
  const body = { startedAt: new Date(now).toISOString(), ...currentProcess(), ...extra };
  return new TextEncoder().encode(JSON.stringify(body) + '\n');
}

/** The body of a heartbeat written at `now`. */
export function beatRecord(now: number): Uint8Array {
  const { host, pid } = currentProcess();
  return new TextEncoder().encode(JSON.stringify({ at: new Date(now).toISOString(), host, pid }) + '\n');
}

/** "pid 123 on host h" — for wait messages. */
export function describeOwner(owner: OwnerRecord | undefined): string {
  return owner ? `pid ${owner.pid} on ${owner.host}, started ${owner.startedAt}` : 'owner unknown';
}

/**
 * What one coordination object says: its owner (intent and marker bodies) and the last time it
 * shows its owner alive — the later of its store mtime and the time written in its body. Taking the
 * later one means an owner counts as dead only when both the writer's clock and the store's clock
 * say so, so a skew of either alone cannot make a live save look crashed. Undefined when the object
 * vanished since it was listed.
 */
async function readSign(store: ObjectStore, key: string, mtimeMs: number): Promise<{ aliveAt: number; owner?: OwnerRecord } | undefined> {
  let body: Uint8Array;
  try {
    body = await store.get(key);
  } catch (e) {
    if (isEngramError(e, 'NotFound')) return undefined;
    throw e;
  }
  let parsed: { startedAt?: unknown; at?: unknown; host?: unknown; pid?: unknown; bootId?: unknown; pidNs?: unknown; procStart?: unknown } = {};
  try {
    parsed = JSON.parse(new TextDecoder().decode(body)) as typeof parsed;
  } catch {
    // A damaged body: the mtime alone decides.
  }
  const stamp = typeof parsed.at === 'string' ? parsed.at : parsed.startedAt;
  const written = typeof stamp === 'string' ? Date.parse(stamp) : Number.NaN;
  const aliveAt = Number.isNaN(written) ? mtimeMs : Math.max(mtimeMs, written);
  const text = (v: unknown): v is string => typeof v === 'string';
  const owner = text(parsed.startedAt) && text(parsed.host) && typeof parsed.pid === 'number'
    ? {
      startedAt: parsed.startedAt, host: parsed.host, pid: parsed.pid,
      ...(text(parsed.bootId) ? { bootId: parsed.bootId } : {}), ...(text(parsed.pidNs) ? { pidNs: parsed.pidNs } : {}),
      ...(text(parsed.procStart) ? { procStart: parsed.procStart } : {}),
    } : undefined;
  return owner ? { aliveAt, owner } : { aliveAt };
}

/** One save in flight (or crashed), as GC sees it. */
export interface SaveIntentInfo {
  readonly saveId: string;
  /** Every object under `staging/<save-id>/`. */
  readonly keys: readonly string[];
  /** Newest sign of life, ms since the epoch. */
  readonly aliveAt: number;
  /** Its owner counts as dead: no sign of life for STALE_MS, or {@link gone}. */
  readonly stale: boolean;
  /** Its owner ran on this machine and its process has ended. */
  readonly gone: boolean;
  readonly owner?: OwnerRecord;
}

/** Every `staging/<save-id>/` group, with whether its owner still counts as alive at `now`. */
export async function listSaveIntents(store: ObjectStore, now: number): Promise<SaveIntentInfo[]> {
  const groups = new Map<string, { key: string; mtimeMs: number }[]>();
  for await (const o of store.list('staging/')) {
    const m = /^staging\/([^/]+)\/.+$/.exec(o.key);
    if (!m) continue;
    const list = groups.get(m[1]!) ?? [];
    list.push({ key: o.key, mtimeMs: o.mtimeMs });
    groups.set(m[1]!, list);
  }
  const out: SaveIntentInfo[] = [];
  for (const [saveId, objects] of groups) {
    let aliveAt = -Infinity;
    let owner: OwnerRecord | undefined;
    // A group with other staged objects (a distributed save's rank parts) outlives the process
    // that wrote them by design: only the time-based rule applies to it.
    let onlyLocks = true;
    for (const o of objects) {
      const name = o.key.slice(`staging/${saveId}/`.length);
      if (name !== 'intent.json' && !/^beat-[^/]+\.json$/.test(name)) {
        aliveAt = Math.max(aliveAt, o.mtimeMs); // some other staged object: its mtime counts
        onlyLocks = false;
        continue;
      }
      const sign = await readSign(store, o.key, o.mtimeMs);
      if (!sign) continue;
      aliveAt = Math.max(aliveAt, sign.aliveAt);
      if (name === 'intent.json') owner = sign.owner;
    }
    if (aliveAt === -Infinity) continue; // the whole group vanished while we looked
    const gone = onlyLocks && owner !== undefined && processGone(owner);
    out.push({ saveId, keys: objects.map((o) => o.key), aliveAt, stale: gone || now - aliveAt > STALE_MS, gone, ...(owner ? { owner } : {}) });
  }
  return out;
}

/** One GC, as a save (or another GC) sees it. */
export interface GcMarkerInfo {
  readonly gcId: string;
  readonly keys: readonly string[];
  /** The GC wrote `.done`: it deletes nothing more. */
  readonly done: boolean;
  readonly aliveAt: number;
  /** Not done, but too old to be deleting still (it stops deleting after STALE_MS / 2), or {@link gone}. */
  readonly stale: boolean;
  /** Not done, and its owner ran on this machine and its process has ended. */
  readonly gone: boolean;
  readonly owner?: OwnerRecord;
}

/** Every GC that left a marker, running or finished. */
export async function listGcMarkers(store: ObjectStore, now: number): Promise<GcMarkerInfo[]> {
  const groups = new Map<string, { key: string; mtimeMs: number; kind: string }[]>();
  for await (const o of store.list('gc/')) {
    const m = /^gc\/([0-9A-Z]{26})\.(json|done)$/.exec(o.key);
    if (!m) continue;
    const list = groups.get(m[1]!) ?? [];
    list.push({ key: o.key, mtimeMs: o.mtimeMs, kind: m[2]! });
    groups.set(m[1]!, list);
  }
  const out: GcMarkerInfo[] = [];
  for (const [gcId, objects] of groups) {
    const done = objects.some((o) => o.kind === 'done');
    const marker = objects.find((o) => o.kind === 'json');
    let aliveAt = Math.max(...objects.map((o) => o.mtimeMs));
    let owner: OwnerRecord | undefined;
    if (marker && !done) {
      const sign = await readSign(store, marker.key, marker.mtimeMs);
      if (!sign) continue; // removed while we looked: a finished GC being cleaned up
      aliveAt = Math.max(aliveAt, sign.aliveAt);
      owner = sign.owner;
    }
    const gone = !done && owner !== undefined && processGone(owner);
    out.push({ gcId, keys: objects.map((o) => o.key), done, aliveAt, stale: gone || (!done && now - aliveAt > STALE_MS), gone, ...(owner ? { owner } : {}) });
  }
  return out;
}
