/**
 * @module Refs as append-only move events: `refs/<name>/<event-id>.json`. Moving a ref writes a new
 * event and never rewrites one; the newest event (largest time-sortable id) wins, and the list of
 * events is the ref's audit trail.
 *
 * Events are checksummed records (checksummed-json.ts), so a damaged one is told apart from a
 * valid one; events written before that (plain JSON) are still read. A damaged event is never
 * skipped silently: skipping the newest would quietly point the ref at an older target. Reading it
 * fails with `IntegrityMismatch` naming the file, and {@link RefStore.scan} (verify) lists it as a
 * finding. Moving the ref again repairs it: the new event supersedes the damaged one, whose id is
 * taken from its file name.
 */
import { EngramError, isEngramError } from '../errors/index.ts';
import type { ObjectStore } from '../store/index.ts';
import { decodeChecksummed, encodeChecksummed } from './checksummed-json.ts';
import { newId, systemClock, type Clock } from './ids.ts';
import { checkRefName } from './ref-name.ts';

/** One move of a ref. `target` null means the ref was deleted. */
export interface RefEvent {
  readonly format: 'engram.ref';
  readonly name: string;
  readonly event: string;
  readonly target: string | null;
  readonly previous: string | null;
  readonly at: string;
  readonly message: string;
}

/** One damaged event, as {@link RefStore.scan} reports it. */
export interface DamagedRefEvent {
  readonly name: string;
  readonly key: string;
  readonly message: string;
}

/** `refs/<name>/<id>.json` → `<id>`. */
function eventIdOfKey(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1, -'.json'.length);
}

const isText = (v: unknown): v is string => typeof v === 'string';
const isTarget = (v: unknown): v is string | null => v === null || typeof v === 'string';

/**
 * Reads and appends ref events in one store, under one key prefix: `refs/` for tags, `heads/` for
 * the run heads a rollback moves (see run-head.ts).
 */
export class RefStore {
  readonly #store: ObjectStore;
  readonly #clock: Clock;
  readonly #prefix: string;

  constructor(store: ObjectStore, clock: Clock = systemClock, prefix = 'refs/') {
    this.#store = store;
    this.#clock = clock;
    this.#prefix = prefix;
  }

  /** Keys of every event of `name`, oldest first. */
  async #keys(name: string): Promise<string[]> {
    checkRefName(name);
    const keys: string[] = [];
    for await (const o of this.#store.list(`${this.#prefix}${name}/`)) if (o.key.endsWith('.json')) keys.push(o.key);
    return keys.sort();
  }

  /** The error for a damaged event: names the file and how to supersede it. */
  #damaged(name: string, key: string, reason: string): EngramError {
    const repair = this.#prefix === 'heads/'
      ? `roll the run back again (\`engram rollback ${name} <ref>\`) to supersede it`
      : `move the tag again (\`engram tag ${name} <ref>\`) to supersede it`;
    return new EngramError('IntegrityMismatch', `ref event ${key} in ${this.#store.location} is damaged (${reason}); ${repair}, or delete that file`, { ref: name, key, reason });
  }

  /** Decodes one event: checksummed, or an older plain one whose shape is checked. */
  async #read(name: string, key: string): Promise<RefEvent> {
    const bytes = await this.#store.get(key);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw this.#damaged(name, key, 'not valid JSON');
    }
    let e = parsed as Partial<RefEvent> & { sha256?: unknown };
    if (typeof parsed === 'object' && parsed !== null && 'sha256' in parsed) {
      e = decodeChecksummed(bytes, (reason) => this.#damaged(name, key, reason)) as Partial<RefEvent>;
    }
    if (typeof e !== 'object' || e === null || e.format !== 'engram.ref' || e.name !== name || e.event !== eventIdOfKey(key)
      || !isTarget(e.target) || !isTarget(e.previous) || !isText(e.at) || !isText(e.message)) {
      throw this.#damaged(name, key, 'not a ref event of this ref');
    }
    return e as RefEvent;
  }

  /** Every event of `name`, oldest first; `IntegrityMismatch` naming the file if any is damaged. */
  async history(name: string): Promise<RefEvent[]> {
    const keys = await this.#keys(name);
    return Promise.all(keys.map((k) => this.#read(name, k)));
  }

  /**
   * The newest event of `name`, undefined when it has none. A damaged newest event is refused
   * (`IntegrityMismatch` naming the file) rather than passed over, which would silently point the
   * ref at an older target; damaged older events do not matter here.
   */
  async newest(name: string): Promise<RefEvent | undefined> {
    const last = (await this.#keys(name)).at(-1);
    return last === undefined ? undefined : this.#read(name, last);
  }

  /** The snapshot id `name` points at, or undefined when it does not exist (or was deleted). */
  async resolve(name: string): Promise<string | undefined> {
    return (await this.newest(name))?.target ?? undefined;
  }

  /**
   * Points `name` at `target` (a snapshot id), appending an event. `previous` defaults to the last
   * event's target (null when that event is damaged: this move is how it gets repaired); a run
   * head passes the snapshot that was effectively the head instead.
   */
  async move(name: string, target: string | null, message = '', options: { previous?: string | null } = {}): Promise<RefEvent> {
    const lastKey = (await this.#keys(name)).at(-1);
    let lastTarget: string | null = null;
    if (lastKey !== undefined && options.previous === undefined) {
      lastTarget = await this.#read(name, lastKey).then((e) => e.target, () => null);
    }
    const previous = options.previous !== undefined ? options.previous : lastTarget;
    const now = this.#clock.now();
    // The new event must sort after the one it replaces, even when another process wrote that one
    // within the same millisecond or with a clock slightly ahead (its id is its file name).
    const event: RefEvent = {
      format: 'engram.ref', name, event: newId(this.#clock, lastKey ? eventIdOfKey(lastKey) : ''), target, previous, at: new Date(now).toISOString(), message,
    };
    const ok = await this.#store.put(`${this.#prefix}${name}/${event.event}.json`, encodeChecksummed(event), { ifAbsent: true });
    if (!ok) throw new EngramError('Conflict', `ref event ${event.event} already exists`, { name });
    return event;
  }

  async #names(): Promise<string[]> {
    const names = new Set<string>();
    for await (const o of this.#store.list(this.#prefix)) {
      const m = /^([^/]+)\//.exec(o.key.slice(this.#prefix.length));
      if (m) names.add(m[1]!);
    }
    return [...names].sort();
  }

  /** Every ref name with its current target (deleted refs omitted); `IntegrityMismatch` if a newest event is damaged. */
  async list(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await Promise.all((await this.#names()).map(async (n) => {
      const t = await this.resolve(n);
      if (t) out.set(n, t);
    }));
    return out;
  }

  /**
   * Every event of every ref read once, for verify: the targets of the refs whose newest event is
   * readable, and every damaged event as a value instead of an error.
   */
  async scan(): Promise<{ targets: Map<string, string>; damaged: DamagedRefEvent[] }> {
    const targets = new Map<string, string>();
    const damaged: DamagedRefEvent[] = [];
    for (const name of await this.#names()) {
      let keys: string[];
      try {
        keys = await this.#keys(name);
      } catch (e) {
        damaged.push({ name, key: `${this.#prefix}${name}/`, message: (e as Error).message });
        continue;
      }
      for (const [i, key] of keys.entries()) {
        try {
          const event = await this.#read(name, key);
          if (i === keys.length - 1 && event.target) targets.set(name, event.target);
        } catch (e) {
          if (!isEngramError(e, 'IntegrityMismatch')) throw e;
          damaged.push({ name, key, message: e.message });
        }
      }
    }
    return { targets, damaged };
  }
}
