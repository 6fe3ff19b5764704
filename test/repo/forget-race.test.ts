/**
 * A save racing a `forget` in another process: the save lists the run's manifests and one of them
 * is deleted before the save reads it. The save must still commit (issue 11, item 13).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Repository } from '../../src/repo/index.ts';
import { MemoryStore, type ByteRange, type ObjectInfo, type ObjectStore, type PutOptions } from '../../src/store/index.ts';
import { f32Tensor } from '../helpers/weights.ts';

/** A store whose listings of `snapshots/` delete the listed manifests `victims` picks, right after listing them. */
class ForgettingStore implements ObjectStore {
  readonly inner: ObjectStore;
  victims: (keys: readonly string[]) => string[] = () => [];
  constructor(inner: ObjectStore) { this.inner = inner; }
  get location(): string { return this.inner.location; }
  get(key: string, range?: ByteRange): Promise<Uint8Array> { return this.inner.get(key, range); }
  put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean> { return this.inner.put(key, data, options); }
  head(key: string): Promise<ObjectInfo | undefined> { return this.inner.head(key); }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const listed: ObjectInfo[] = [];
    for await (const o of this.inner.list(prefix)) listed.push(o);
    if (prefix === 'snapshots/') {
      // What another process's `forget` does between our listing and our reads.
      for (const key of this.victims(listed.map((o) => o.key))) await this.inner.delete(key);
    }
    yield* listed;
  }
  delete(key: string): Promise<void> { return this.inner.delete(key); }
  missing(keys: readonly string[]): Promise<string[]> { return this.inner.missing(keys); }
  close(): Promise<void> { return this.inner.close(); }
}

test('a save whose listed older snapshots vanish before it reads them (a concurrent forget) still commits', async () => {
  const store = new ForgettingStore(new MemoryStore());
  const first = await Repository.init('memory://', { store });
  for (let step = 0; step < 4; step++) await first.save({ run: 'r', step, tensors: { 'model/w': f32Tensor([64, 64], step) } });
  // Each new handle (a new process) has an empty manifest cache, so it must read what it lists.
  store.victims = (keys) => keys.slice(0, 1); // forget --keep-last 3, once per listing
  for (let step = 4; step < 8; step++) {
    const repo = await Repository.open('memory://', { store });
    const snap = await repo.save({ run: 'r', step, tensors: { 'model/w': f32Tensor([64, 64], step) } });
    assert.equal(snap.step, step);
    assert.notEqual(snap.parent, null, 'the newest remaining snapshot is the parent');
  }
  store.victims = () => [];
  const repo = await Repository.open('memory://', { store });
  const log = await repo.log('r');
  assert.equal(log.at(-1)?.step, 7);
  assert.equal((await repo.verify()).ok, true);
  assert.equal(await repo.resolve('r@latest'), log.at(-1)!.id);
});
