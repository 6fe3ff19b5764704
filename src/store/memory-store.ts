/** @module MemoryStore: an ObjectStore in a Map, for tests and throwaway repositories. */
import { EngramError } from '../errors/index.ts';
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';
import { missingByHead } from './missing-by-head.ts';

interface Entry {
  readonly data: Uint8Array;
  readonly mtimeMs: number;
}

/**
 * Keeps objects in memory. Data is copied on put and on get, so no caller can change stored bytes
 * behind the store's back (as no caller can on disk).
 */
export class MemoryStore implements ObjectStore {
  readonly location = 'memory://';
  readonly #objects = new Map<string, Entry>();
  readonly #clock: { now(): number };

  constructor(options: { clock?: { now(): number } } = {}) {
    this.#clock = options.clock ?? Date;
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const e = this.#objects.get(key);
    if (!e) throw new EngramError('NotFound', `no object ${key} in ${this.location}`, { key });
    if (!range) return e.data.slice();
    checkRange(key, e.data.byteLength, range);
    return e.data.slice(range.offset, range.offset + range.length);
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<boolean> {
    if (options.ifAbsent && this.#objects.has(key)) return false;
    this.#objects.set(key, { data: data.slice(), mtimeMs: this.#clock.now() });
    return true;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const e = this.#objects.get(key);
    return e ? { key, size: e.data.byteLength, mtimeMs: e.mtimeMs } : undefined;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const [key, e] of [...this.#objects]) {
      if (key.startsWith(prefix)) yield { key, size: e.data.byteLength, mtimeMs: e.mtimeMs };
    }
  }

  async delete(key: string): Promise<void> {
    this.#objects.delete(key);
  }

  /** Looks each key up in the map. */
  async missing(keys: readonly string[]): Promise<string[]> { return missingByHead(this, keys); }

  async close(): Promise<void> {}
}

/** Throws `InvalidArgument` when `range` does not lie inside an object of `size` bytes. */
export function checkRange(key: string, size: number, range: ByteRange): void {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new EngramError('InvalidArgument', `range ${offset}+${length} lies outside ${key} (${size} bytes)`, { key, offset, length, size });
  }
}
