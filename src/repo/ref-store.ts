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

/** Reads and appends ref events in one store. */
export class RefStore {
  readonly #store: ObjectStore;
  readonly #clock: Clock;

  constructor(store: ObjectStore, clock: Clock = systemClock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Every event of `name`, oldest first. */
  async history(name: string): Promise<RefEvent[]> {
    checkRefName(name);
    const keys: string[] = [];
    for await (const o of this.#store.list(`refs/${name}/`)) if (o.key.endsWith('.json')) keys.push(o.key);
    keys.sort();
    const events = await Promise.all(keys.map(async (k) => JSON.parse(new TextDecoder().decode(await this.#store.get(k))) as RefEvent));
    return events;
  }

  /** The snapshot id `name` points at, or undefined when it does not exist (or was deleted). */
  async resolve(name: string): Promise<string | undefined> {
    const events = await this.history(name);
    return events.at(-1)?.target ?? undefined;
  }

  /** Points `name` at `target` (a snapshot id), appending an event. */
  async move(name: string, target: string | null, message = ''): Promise<RefEvent> {
    checkRefName(name);
    const last = (await this.history(name)).at(-1);
    const previous = last?.target ?? null;
    const now = this.#clock.now();
    // The new event must sort after the one it replaces, even when another process wrote that one
    // within the same millisecond or with a clock slightly ahead.
    const event: RefEvent = {
      format: 'engram.ref', name, event: newId(this.#clock, last?.event ?? ''), target, previous, at: new Date(now).toISOString(), message,
    };
    const ok = await this.#store.put(`refs/${name}/${event.event}.json`, new TextEncoder().encode(JSON.stringify(event, null, 1) + '\n'), { ifAbsent: true });
    if (!ok) throw new EngramError('Conflict', `ref event ${event.event} already exists`, { name });
    return event;
  }

  /** Every ref name with its current target (deleted refs omitted). */
  async list(): Promise<Map<string, string>> {
    const names = new Set<string>();
    for await (const o of this.#store.list('refs/')) {
      const m = /^refs\/([^/]+)\//.exec(o.key);
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
