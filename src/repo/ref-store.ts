/**
 * @module Refs as append-only move events: `refs/<name>/<event-id>.json`. Moving a ref writes a new
 * event and never rewrites one; the newest event (largest time-sortable id) wins, and the list of
 * events is the ref's audit trail.
 */
import { EngramError } from '../errors/index.ts';
import type { ObjectStore } from '../store/index.ts';
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

  /** Every event of `name`, oldest first. */
  async history(name: string): Promise<RefEvent[]> {
    checkRefName(name);
    const keys: string[] = [];
    for await (const o of this.#store.list(`${this.#prefix}${name}/`)) if (o.key.endsWith('.json')) keys.push(o.key);
    keys.sort();
    const events = await Promise.all(keys.map(async (k) => JSON.parse(new TextDecoder().decode(await this.#store.get(k))) as RefEvent));
    return events;
  }

  /** The snapshot id `name` points at, or undefined when it does not exist (or was deleted). */
  async resolve(name: string): Promise<string | undefined> {
    const events = await this.history(name);
    return events.at(-1)?.target ?? undefined;
  }

  /**
   * Points `name` at `target` (a snapshot id), appending an event. `previous` defaults to the last
   * event's target; a run head passes the snapshot that was effectively the head instead.
   */
  async move(name: string, target: string | null, message = '', options: { previous?: string | null } = {}): Promise<RefEvent> {
    checkRefName(name);
    const last = (await this.history(name)).at(-1);
    const previous = options.previous !== undefined ? options.previous : last?.target ?? null;
    const now = this.#clock.now();
    // The new event must sort after the one it replaces, even when another process wrote that one
    // within the same millisecond or with a clock slightly ahead.
    const event: RefEvent = {
      format: 'engram.ref', name, event: newId(this.#clock, last?.event ?? ''), target, previous, at: new Date(now).toISOString(), message,
    };
    const ok = await this.#store.put(`${this.#prefix}${name}/${event.event}.json`, new TextEncoder().encode(JSON.stringify(event, null, 1) + '\n'), { ifAbsent: true });
    if (!ok) throw new EngramError('Conflict', `ref event ${event.event} already exists`, { name });
    return event;
  }

  /** Every ref name with its current target (deleted refs omitted). */
  async list(): Promise<Map<string, string>> {
    const names = new Set<string>();
    for await (const o of this.#store.list(this.#prefix)) {
      const m = /^([^/]+)\//.exec(o.key.slice(this.#prefix.length));
      if (m) names.add(m[1]!);
    }
    const out = new Map<string, string>();
    await Promise.all([...names].map(async (n) => {
      const t = await this.resolve(n);
      if (t) out.set(n, t);
    }));
    return out;
  }
}
