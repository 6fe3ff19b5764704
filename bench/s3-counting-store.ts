/**
 * @module CountingStore: an ObjectStore that forwards to another and counts what passes — requests
 * and bytes by kind, and the most GETs and PUTs in flight at once — so the S3 benchmark can report
 * the object sizes and the parallelism engram actually used beside the raw baseline's.
 */
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from '../src/store/index.ts';

/** What a CountingStore saw. */
export interface StoreCounts {
  gets: number;
  getBytes: number;
  puts: number;
  putBytes: number;
  heads: number;
  /** The most GETs in flight at once. */
  maxGetsInFlight: number;
  /** The most PUTs in flight at once. */
  maxPutsInFlight: number;
}

/** Forwards every call to `inner`, counting. */
export class CountingStore implements ObjectStore {
  readonly location: string;
  readonly counts: StoreCounts = { gets: 0, getBytes: 0, puts: 0, putBytes: 0, heads: 0, maxGetsInFlight: 0, maxPutsInFlight: 0 };
  readonly #inner: ObjectStore;
  #getsNow = 0;
  #putsNow = 0;

  constructor(inner: ObjectStore) {
    this.#inner = inner;
    this.location = inner.location;
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.counts.maxGetsInFlight = Math.max(this.counts.maxGetsInFlight, ++this.#getsNow);
    try {
      const bytes = await this.#inner.get(key, range);
      this.counts.gets++;
      this.counts.getBytes += bytes.byteLength;
      return bytes;
    } finally {
      this.#getsNow--;
    }
  }

  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean> {
    this.counts.maxPutsInFlight = Math.max(this.counts.maxPutsInFlight, ++this.#putsNow);
    try {
      const written = await this.#inner.put(key, data, options);
      if (written) {
        this.counts.puts++;
        this.counts.putBytes += data.byteLength;
      }
      return written;
    } finally {
      this.#putsNow--;
    }
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    this.counts.heads++;
    return this.#inner.head(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.#inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.#inner.delete(key);
  }

  missing(keys: readonly string[]): Promise<string[]> { return this.#inner.missing(keys); }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
