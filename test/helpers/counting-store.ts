/** A real store wrapped to record which keys were read, for tests of lazy loading. */
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from '../../src/store/index.ts';

export class CountingStore implements ObjectStore {
  readonly inner: ObjectStore;
  readonly gets: string[] = [];
  constructor(inner: ObjectStore) { this.inner = inner; }
  get location(): string { return this.inner.location; }
  get(key: string, range?: ByteRange): Promise<Uint8Array> { this.gets.push(key); return this.inner.get(key, range); }
  put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean> { return this.inner.put(key, data, options); }
  head(key: string): Promise<ObjectInfo | undefined> { return this.inner.head(key); }
  list(prefix: string): AsyncIterable<ObjectInfo> { return this.inner.list(prefix); }
  delete(key: string): Promise<void> { return this.inner.delete(key); }
  close(): Promise<void> { return this.inner.close(); }
}
