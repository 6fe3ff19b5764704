/** A real store wrapped to record which keys were read and written, for tests of lazy loading and deduplication. */
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from '../../src/store/index.ts';

export class CountingStore implements ObjectStore {
  readonly inner: ObjectStore;
  readonly gets: string[] = [];
  /** Keys of puts that wrote an object. */
  readonly puts: string[] = [];
  constructor(inner: ObjectStore) { this.inner = inner; }
  get location(): string { return this.inner.location; }
  get(key: string, range?: ByteRange): Promise<Uint8Array> { this.gets.push(key); return this.inner.get(key, range); }
  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean> {
    const written = await this.inner.put(key, data, options);
    if (written) this.puts.push(key);
    return written;
  }
  head(key: string): Promise<ObjectInfo | undefined> { return this.inner.head(key); }
  list(prefix: string): AsyncIterable<ObjectInfo> { return this.inner.list(prefix); }
  delete(key: string): Promise<void> { return this.inner.delete(key); }
  missing(keys: readonly string[]): Promise<string[]> { return this.inner.missing(keys); }
  close(): Promise<void> { return this.inner.close(); }
}
