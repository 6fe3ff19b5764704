import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CodecPool, decodeChain, decodeChunk, readChunkHeader, sha256Hex } from '../../src/codec/index.ts';
import { isEngramError } from '../../src/errors/index.ts';
import { ChunkReader } from '../../src/repo/chunk-reader.ts';
import { chunkKey } from '../../src/repo/chunk-key.ts';
import { Repository, type SnapshotManifest } from '../../src/repo/index.ts';
import { MemoryStore, type ByteRange, type GetOptions } from '../../src/store/index.ts';
import { Tensor } from '../../src/tensor/index.ts';
import { CountingStore } from '../helpers/counting-store.ts';
import { CHECKPOINTS, f32Of, same } from '../helpers/weight-planes.ts';

const KiB = 1024;

/** A store that answers each get a turn of the event loop later and records how many were pending at once. */
class PendingStore extends CountingStore {
  pending = 0;
  maxPending = 0;
  override async get(key: string, range?: ByteRange, options?: GetOptions): Promise<Uint8Array> {
    this.gets.push(key);
    this.maxPending = Math.max(this.maxPending, ++this.pending);
    try {
      await new Promise((resolve) => setImmediate(resolve));
      return await this.inner.get(key, range, options);
    } finally {
      this.pending--;
    }
  }
}

interface Fixture {
  store: PendingStore;
  snaps: SnapshotManifest[];
  data: Uint8Array[];
  /** The depth-2 chunks of the last snapshot, each with its chain (top first). */
  chains: string[][];
}

/** The three real checkpoints (torch, 50 Adam steps apart) saved in sequence: the last one's chunks are depth-2 chains. */
async function fixture(): Promise<Fixture> {
  const store = new PendingStore(new MemoryStore());
  const repo = await Repository.init('memory://', { store, chunkSize: 256 * KiB });
  const data = await Promise.all(CHECKPOINTS.map(f32Of));
  const snaps: SnapshotManifest[] = [];
  for (const [i, d] of data.entries()) {
    const s = await repo.save({ run: 'r', step: i, parent: snaps.at(-1)?.id ?? null, tensors: { 'model/all': new Tensor('F32', [d.byteLength / 4], d) } });
    snaps.push(s.manifest);
  }
  const m = snaps.at(-1)!;
  const chains = Object.keys(m.chunks).filter((h) => m.chunks[h]!.depth === 2).map((h) => {
    const c = [h];
    for (let b = m.chunks[h]!.base; b !== undefined; b = m.chunks[b]!.base) c.push(b);
    return c;
  });
  return { store, snaps, data, chains };
}

async function replace(store: MemoryStore | CountingStore, hash: string, bytes: Uint8Array): Promise<void> {
  await store.delete(chunkKey(hash));
  await store.put(chunkKey(hash), bytes);
}

describe('delta chains read as one', () => {
  let f: Fixture;
  before(async () => {
    await CodecPool.shared().whenReady();
    f = await fixture();
    assert.ok(f.chains.length >= 8, `depth-2 chains: ${f.chains.length}`);
    assert.ok(f.chains.every((c) => c.length === 3));
  });
  after(() => CodecPool.shared().close());

  test('a restore fetches every link of a chain at once and returns the exact bytes', async () => {
    const repo = await Repository.open('memory://', { store: f.store });
    const snap = await repo.snapshot(f.snaps.at(-1)!.id);
    const chunks = snap.manifest.tensors['model/all']!.chunks;
    f.store.gets.length = 0;
    f.store.maxPending = 0;
    // One chunk at a time: all three links of its chain are in flight together.
    const back = new Uint8Array(f.data.at(-1)!.byteLength);
    const reader = new ChunkReader(f.store);
    await reader.read(chunks, back.byteLength, 'model/all', back, 1, snap.manifest.chunks);
    assert.ok(same(back, f.data.at(-1)!));
    assert.equal(f.store.maxPending, 3);
    // Every object once: no link is read again after its chain is decoded.
    assert.equal(new Set(f.store.gets).size, f.store.gets.length);
    // Through the snapshot, as a user restores.
    assert.ok(same((await snap.tensor('model/all')).data, f.data.at(-1)!));
  });

  test('decodeChain gives what decoding link by link gives, on the workers, inline, and on the calling thread', async () => {
    const inline = new CodecPool(0);
    for (const chain of f.chains) {
      const objects = await Promise.all(chain.map((h) => f.store.inner.get(chunkKey(h))));
      let raw: Uint8Array | undefined;
      for (let i = chain.length - 1; i >= 0; i--) {
        const below = raw;
        raw = await decodeChunk(objects[i]!, { expectedHash: chain[i]!, getBase: async () => below! });
      }
      const links = () => chain.map((hash, i) => ({ hash, encoded: objects[i]!.slice() }));
      assert.ok(same(await decodeChain(links(), { expectedHash: chain[0]! }), raw!));
      assert.ok(same(await CodecPool.shared().decodeChain(links(), { expectedHash: chain[0]! }), raw!));
      const leased = await CodecPool.shared().decodeChain(links(), { expectedHash: chain[0]!, lease: true });
      assert.ok(same(leased, raw!));
      CodecPool.shared().recycle(leased);
      assert.ok(same(await inline.decodeChain(links(), { expectedHash: chain[0]! }), raw!));
      // From a verified base: the top link alone against its base's raw bytes.
      const base = await decodeChain(links().slice(1), { expectedHash: chain[1]! });
      assert.ok(same(await decodeChain(links().slice(0, 1), { expectedHash: chain[0]!, base: { hash: chain[1]!, bytes: base } }), raw!));
    }
  });

  test('a chain whose links do not follow each other is an IntegrityMismatch', async () => {
    const [a, b] = f.chains;
    const objects = await Promise.all([a![0]!, b![1]!, b![2]!].map((h) => f.store.inner.get(chunkKey(h))));
    await assert.rejects(
      decodeChain([{ hash: a![0]!, encoded: objects[0]! }, { hash: b![1]!, encoded: objects[1]! }, { hash: b![2]!, encoded: objects[2]! }], { expectedHash: a![0]! }),
      (e) => isEngramError(e, 'IntegrityMismatch') && e.data.reason === 'chain',
    );
  });

  test('a damaged middle link or keyframe is an IntegrityMismatch naming that link, never other bytes', async () => {
    for (const at of [1, 2]) {
      const chain = f.chains[at]!;
      const victim = chain[at]!;
      const good = await f.store.inner.get(chunkKey(victim));
      // A byte of the last plane's body: decodes, to wrong bytes, which only the hash can tell.
      const bad = new Uint8Array(good);
      bad[bad.byteLength - 7]! ^= 0x01;
      await replace(f.store.inner as MemoryStore, victim, bad);
      try {
        const reader = new ChunkReader(f.store);
        const top = f.snaps.at(-1)!;
        const ref = top.tensors['model/all']!.chunks.find((r) => r.hash === chain[0])!;
        await assert.rejects(
          reader.read([ref], ref.length, 'tensor model/all', undefined, 1, top.chunks),
          (e) => isEngramError(e, 'IntegrityMismatch') && e.message.includes(victim) && e.message.includes('model/all'),
        );
      } finally {
        await replace(f.store.inner as MemoryStore, victim, good);
      }
    }
  });

  test('a missing middle link is an IntegrityMismatch with reason missing', async () => {
    const chain = f.chains[3]!;
    const good = await f.store.inner.get(chunkKey(chain[1]!));
    await f.store.inner.delete(chunkKey(chain[1]!));
    try {
      const top = f.snaps.at(-1)!;
      const ref = top.tensors['model/all']!.chunks.find((r) => r.hash === chain[0])!;
      await assert.rejects(
        new ChunkReader(f.store).read([ref], ref.length, 'tensor model/all', undefined, 1, top.chunks),
        (e) => isEngramError(e, 'IntegrityMismatch') && e.data.reason === 'missing' && e.message.includes(chain[1]!),
      );
    } finally {
      await f.store.inner.put(chunkKey(chain[1]!), good);
    }
  });

  test('a manifest map that names the wrong base is only a plan: the headers decide and the bytes are exact', async () => {
    const top = f.snaps.at(-1)!;
    const [a, b] = f.chains;
    // Chain a's top claims chain b's links as its base and keyframe.
    const forged = { ...top.chunks, [a![0]!]: { ...top.chunks[a![0]!]!, base: b![1]! } };
    const ref = top.tensors['model/all']!.chunks.find((r) => r.hash === a![0])!;
    const back = await new ChunkReader(f.store).read([ref], ref.length, 'tensor model/all', undefined, 1, forged);
    const want = f.data.at(-1)!.subarray(top.tensors['model/all']!.chunks.indexOf(ref) * 256 * KiB).subarray(0, ref.length);
    assert.ok(same(back, want));
    assert.equal(readChunkHeader(await f.store.inner.get(chunkKey(a![0]!))).baseHash, a![1]);
    assert.equal(sha256Hex(back), a![0]);
  });
});
