import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { ChunkReader } from '../../src/repo/chunk-reader.ts';
import { chunkKey } from '../../src/repo/chunk-key.ts';
import { Repository } from '../../src/repo/index.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { readChunkHeader } from '../../src/codec/index.ts';
import { Tensor } from '../../src/tensor/index.ts';
import { CountingStore } from '../helpers/counting-store.ts';
import { gaussian } from '../helpers/weights.ts';

const KiB = 1024;

/** Two snapshots of one slowly changing tensor: the second's chunks are deltas against the first's. */
async function deltaRepo(): Promise<{ store: CountingStore; repo: Repository; hashes: string[] }> {
  const store = new CountingStore(new MemoryStore());
  const repo = await Repository.init('memory://', { store, chunkSize: 64 * KiB });
  const w = gaussian(64 * KiB, 3);
  await repo.save({ run: 'r', step: 1, tensors: { w: Tensor.fromFloat32(w, [64 * KiB]) } });
  for (let i = 0; i < w.length; i += 3) w[i]! += 1e-4;
  const snap = await repo.save({ run: 'r', step: 2, tensors: { w: Tensor.fromFloat32(w, [64 * KiB]) } });
  return { store, repo, hashes: Object.keys(snap.manifest.chunks).filter((h) => snap.manifest.chunks[h]!.base !== undefined) };
}

test('readers of one chunk at the same time fetch and decode it once', async () => {
  const { store, hashes } = await deltaRepo();
  assert.ok(hashes.length > 0, 'the second snapshot holds delta chunks');
  const reader = new ChunkReader(store);
  store.gets.length = 0;
  const h = hashes[0]!;
  const [a, b, c] = await Promise.all([reader.chunk(h, 'x'), reader.chunk(h, 'y'), reader.chunk(h, 'z')]);
  assert.deepEqual(a, b);
  assert.deepEqual(a, c);
  // The delta chunk and its base, each fetched once.
  assert.equal(store.gets.filter((k) => k === chunkKey(h)).length, 1);
  assert.equal(store.gets.length, 2);
});

test('a chunk whose header names itself as its delta base is an IntegrityMismatch, not a hang', async () => {
  const { store, hashes } = await deltaRepo();
  const h = hashes[0]!;
  const encoded = await store.get(chunkKey(h));
  const base = readChunkHeader(encoded).baseHash!;
  // Point the base at the chunk itself: find the base's 32 bytes in the header and overwrite them.
  const baseBytes = Buffer.from(base, 'hex');
  const at = Buffer.from(encoded).indexOf(baseBytes);
  assert.ok(at > 0, 'the header holds the base hash');
  const looped = new Uint8Array(encoded);
  looped.set(Buffer.from(h, 'hex'), at);
  await store.delete(chunkKey(h));
  await store.put(chunkKey(h), looped);
  const reader = new ChunkReader(store);
  await assert.rejects(reader.chunk(h, 'w'), (e) => isEngramError(e, 'IntegrityMismatch') && e.data.reason === 'base-cycle');
});
