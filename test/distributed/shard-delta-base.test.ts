/**
 * Distributed saves choose delta bases by the same rule as `Repository.save` (repo/delta-base.ts):
 * each rank's shard chunks stay at depth ≤ 2, a full chain continues against its first delta, and
 * GC of the intermediate snapshots keeps every base the kept one needs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { saveSharded } from '../../src/distributed/index.ts';
import { Repository, type SnapshotManifest } from '../../src/repo/index.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { gaussian, rng } from '../helpers/weights.ts';

const ROWS = 64;
const COLS = 256;

/** Checkpoint `k` of a [128, 256] weight whose elements drift (velocity plus noise). */
function weights(k: number): Float32Array {
  const w = gaussian(2 * ROWS * COLS, 5);
  const v = gaussian(2 * ROWS * COLS, 6, 2e-4);
  const r = rng(200 + k);
  for (let i = 0; i < w.length; i++) w[i]! += k * v[i]! + (r() - 0.5) * 1e-5;
  return w;
}

test('sharded saves keep shard chunks at depth ≤ 2 against the chain\'s first delta, and restore exactly after GC of the intermediate snapshots', async () => {
  const store = new MemoryStore();
  const repo = await Repository.init('memory://', { store, chunkSize: 16 * 1024, smallThreshold: 1024 });
  const save = async (k: number): Promise<SnapshotManifest> => {
    const w = weights(k);
    const done = await Promise.all([0, 1].map((rank) => saveSharded(repo, {
      run: 'dist', step: k, rank, worldSize: 2, timeoutMs: 10_000,
      tensors: { w: { dtype: 'F32', globalShape: [2 * ROWS, COLS], shards: [{ offsets: [ROWS * rank, 0], shape: [ROWS, COLS], data: new Uint8Array(w.buffer, rank * ROWS * COLS * 4, ROWS * COLS * 4).slice() }] } },
    })));
    return done[0]!.snapshot!.manifest;
  };
  const ms: SnapshotManifest[] = [];
  for (let k = 0; k < 5; k++) ms.push(await save(k));
  // Shard s, chunk c of checkpoint k, with its ChunkInfo.
  const at = (k: number, s: number, c: number) => {
    const hash = ms[k]!.tensors.w!.shards![s]!.chunks[c]!.hash;
    const info = ms[k]!.chunks[hash]!;
    return { hash, depth: info.depth ?? 0, base: info.base };
  };
  const shards = ms[0]!.tensors.w!.shards!;
  assert.equal(shards.length, 2);
  for (let s = 0; s < 2; s++) {
    for (let c = 0; c < shards[s]!.chunks.length; c++) {
      const chain = ms.map((_, k) => at(k, s, c));
      assert.deepEqual(chain.map((x) => x.depth), [0, 1, 2, 2, 2], `shard ${s} chunk ${c}`);
      for (const x of chain.slice(2)) assert.equal(x.base, chain[1]!.hash, `shard ${s} chunk ${c}: against the first delta`);
    }
  }
  await repo.tag('keep', ms[4]!.id);
  await repo.forget({ run: 'dist', rules: [], all: true, keepNewest: false });
  assert.ok((await repo.gc({ graceMs: 0 })).swept > 0);
  const fresh = await Repository.open('memory://', { store });
  const back = await (await fresh.snapshot(ms[4]!.id)).tensor('w');
  assert.ok(Buffer.from(back.data).equals(Buffer.from(weights(4).buffer)));
  const verify = await fresh.verify();
  assert.ok(verify.ok, JSON.stringify(verify.findings));
});
