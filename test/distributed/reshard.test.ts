/**
 * In-process checks of the distributed module on the memory store: random shard layouts read back
 * through random regions, the committer's refusals (gaps, overlaps, replicas that differ, a missing
 * rank), the barrier hook, GC against a save whose ranks are only partly done, and manifest checks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { copyRuns, restoreSharded, saveSharded, splitDim0, type ShardedTensorInput } from '../../src/distributed/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { decodeManifest, encodeManifest, type SnapshotManifest } from '../../src/repo/manifest.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { prng } from '../helpers/fuzz.ts';
import { gaussian } from '../helpers/weights.ts';
import { sliceBox, type TestBox } from './fixtures/layout.ts';

async function memoryRepo(): Promise<Repository> {
  return Repository.init('memory://', { store: new MemoryStore(), chunkSize: 256, smallThreshold: 64, bundleSize: 512 });
}

function bytes(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

/** Cuts `shape` into a random grid of boxes (random cut points per dimension). */
function randomGrid(shape: readonly number[], r: () => number): TestBox[] {
  const cuts = shape.map((n) => {
    const c = new Set<number>([0, n]);
    const k = Math.floor(r() * 3);
    for (let i = 0; i < k; i++) c.add(Math.floor(r() * n));
    return [...c].sort((a, b) => a - b);
  });
  let boxes: TestBox[] = [{ offsets: [], shape: [] }];
  for (const c of cuts) {
    const next: TestBox[] = [];
    for (const b of boxes) for (let i = 0; i + 1 < c.length; i++) if (c[i + 1]! > c[i]!) next.push({ offsets: [...b.offsets, c[i]!], shape: [...b.shape, c[i + 1]! - c[i]!] });
    boxes = next;
  }
  return boxes;
}

test('copy runs merge every trailing dimension a box spans fully', () => {
  const src = { offsets: [0, 0, 0], shape: [4, 6, 8] };
  assert.equal(copyRuns(src, src, src, 4).src.length, 1, 'a whole box is one run');
  const rows = { offsets: [1, 0, 0], shape: [2, 6, 8] };
  const r = copyRuns(src, rows, rows, 4);
  assert.deepEqual([...r.src], [6 * 8 * 4]);
  assert.equal(r.length, 2 * 6 * 8 * 4);
  const cols = { offsets: [0, 2, 0], shape: [4, 3, 8] };
  const c = copyRuns(src, cols, cols, 2);
  assert.equal(c.src.length, 4, 'one run per outer index');
  assert.equal(c.length, 3 * 8 * 2);
});

test('200 random shard grids of 1- to 4-dimensional tensors, saved by their ranks and read through random regions and world sizes, match element-by-element slices', async () => {
  const r = prng(20261124);
  const repo = await memoryRepo();
  for (let round = 0; round < 200; round++) {
    const dims = 1 + Math.floor(r() * 4);
    const shape = Array.from({ length: dims }, () => 1 + Math.floor(r() * (dims > 2 ? 5 : 12)));
    const es = [1, 2, 4, 8][Math.floor(r() * 4)]!;
    const dtype = ({ 1: 'U8', 2: 'F16', 4: 'F32', 8: 'F64' } as const)[es as 1 | 2 | 4 | 8];
    const data = bytes(shape.reduce((a, b) => a * b, 1) * es, round);
    const grid = randomGrid(shape, r);
    const worldSize = Math.min(grid.length, 1 + Math.floor(r() * 4));
    const ranks = Array.from({ length: worldSize }, (_, k) => grid.filter((_, i) => i % worldSize === k));
    const results = await Promise.all(ranks.map((boxes, rank) => saveSharded(repo, {
      run: 'fuzz', step: round, rank, worldSize, timeoutMs: 10_000,
      tensors: { t: { dtype, globalShape: shape, shards: boxes.map((b) => ({ ...b, data: sliceBox(data, shape, es, b) })) } as ShardedTensorInput },
    })));
    const snap = results[0]!.snapshot!;
    assert.ok(Buffer.from((await snap.tensor('t')).data).equals(Buffer.from(data)), `round ${round}: whole`);
    for (let q = 0; q < 3; q++) {
      const offsets = shape.map((n) => Math.floor(r() * n));
      const region = { offsets, shape: shape.map((n, d) => 1 + Math.floor(r() * (n - offsets[d]!))) };
      const got = await snap.readRegion('t', region.offsets, region.shape);
      assert.ok(Buffer.from(got.data).equals(Buffer.from(sliceBox(data, shape, es, region))), `round ${round}: region ${JSON.stringify(region)} of ${JSON.stringify(shape)}`);
    }
    const target = 1 + Math.floor(r() * 5);
    for (let k = 0; k < target; k++) {
      const box = splitDim0(shape, k, target);
      const mine = (await restoreSharded(snap, { rank: k, worldSize: target })).get('t')!;
      assert.ok(Buffer.from(mine.tensor.data).equals(Buffer.from(sliceBox(data, shape, es, box))), `round ${round}: rank ${k}/${target}`);
    }
  }
  assert.ok((await repo.verify()).ok);
});

test('the committer refuses shards with a gap or an overlap, and replicas that differ: no snapshot, no staged parts left', async () => {
  const repo = await memoryRepo();
  const d = bytes(64, 1);
  const shard = (offsets: number[], rows: number) => ({ offsets, shape: [rows, 8], data: d.subarray(0, rows * 8) });
  const attempt = (second: { offsets: number[]; rows: number }, bias1 = d.subarray(0, 4)) => Promise.allSettled([0, 1].map((rank) => saveSharded(repo, {
    run: 'bad', step: 1, rank, worldSize: 2, timeoutMs: 10_000,
    tensors: { w: { dtype: 'U8', globalShape: [8, 8], shards: [rank === 0 ? shard([0, 0], 4) : shard(second.offsets, second.rows)] } },
    replicated: { b: { dtype: 'U8', shape: [4], data: rank === 0 ? d.subarray(0, 4) : bias1 } },
  })));
  const cases: [string, Awaited<ReturnType<typeof attempt>>][] = [
    ['gap', await attempt({ offsets: [5, 0], rows: 3 })],
    ['overlap', await attempt({ offsets: [3, 0], rows: 4 })],
    ['replica', await attempt({ offsets: [4, 0], rows: 4 }, d.subarray(4, 8))],
  ];
  for (const [what, [r0, r1]] of cases) {
    assert.equal(r1.status, 'fulfilled', what);
    assert.equal(r0.status, 'rejected', what);
    assert.equal((r0 as PromiseRejectedResult).reason.code, 'InvalidArgument', what);
  }
  assert.match(((cases[0]![1][0]) as PromiseRejectedResult).reason.message, /shards hold 56 elements, the tensor 64/);
  assert.match(((cases[1]![1][0]) as PromiseRejectedResult).reason.message, /overlap/);
  assert.match(((cases[2]![1][0]) as PromiseRejectedResult).reason.message, /replicated tensor b differs/);
  assert.deepEqual(await repo.snapshotIds(), []);
  const staged: string[] = [];
  for await (const o of repo.store.list('staging/')) staged.push(o.key);
  assert.deepEqual(staged, []);
});

test('a rank that never writes its part makes rank 0 give up with Conflict naming it; a retry of the same step then commits', async () => {
  const repo = await memoryRepo();
  const w = (rank: number): Record<string, ShardedTensorInput> => ({ w: { dtype: 'U8', globalShape: [4, 4], shards: [{ offsets: [2 * rank, 0], shape: [2, 4], data: bytes(8, rank) }] } });
  await assert.rejects(saveSharded(repo, { run: 'r', step: 3, rank: 0, worldSize: 2, tensors: w(0), timeoutMs: 200 }), (e: Error & { code?: string; data?: { missingRanks?: number[] } }) => {
    assert.equal(e.code, 'Conflict');
    assert.deepEqual(e.data?.missingRanks, [1]);
    return true;
  });
  assert.deepEqual(await repo.snapshotIds(), []);
  const [a] = await Promise.all([0, 1].map((rank) => saveSharded(repo, { run: 'r', step: 3, rank, worldSize: 2, tensors: w(rank), timeoutMs: 10_000 })));
  assert.equal((await repo.snapshot('r@3')).id, a!.snapshot!.id);
});

test('with a barrier hook every rank waits on the framework barrier and rank 0 finds every part at its first look', async () => {
  const repo = await memoryRepo();
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((res) => (release = res));
  const barrier = async (): Promise<void> => {
    if (++arrived === 3) release();
    await all;
  };
  let sleeps = 0;
  const results = await Promise.all([0, 1, 2].map((rank) => saveSharded(repo, {
    run: 'b', step: 0, rank, worldSize: 3, barrier, sleep: async () => void sleeps++,
    tensors: { w: { dtype: 'U8', globalShape: [3, 2], shards: [{ offsets: [rank, 0], shape: [1, 2], data: Uint8Array.of(rank, rank) }] } },
  })));
  assert.equal(sleeps, 0);
  assert.deepEqual([...(await results[0]!.snapshot!.tensor('w')).data], [0, 0, 1, 1, 2, 2]);
});

test('GC deletes no chunk while a distributed save is half done (a part staged, rank 0 not yet committed), and the save then commits whole', async () => {
  const repo = await memoryRepo();
  const w = (rank: number): Record<string, ShardedTensorInput> => ({ w: { dtype: 'U8', globalShape: [2, 600], shards: [{ offsets: [rank, 0], shape: [1, 600], data: bytes(600, 10 + rank) }] } });
  // Rank 1 finishes (its intent ends; only its part remains staged) before rank 0 even starts.
  await saveSharded(repo, { run: 'g', step: 1, rank: 1, worldSize: 2, tensors: w(1) });
  const gc = await repo.gc({ graceMs: 0 });
  assert.equal(gc.swept, 0);
  assert.equal(gc.skipped?.reason, 'saves-in-flight');
  const done = await saveSharded(repo, { run: 'g', step: 1, rank: 0, worldSize: 2, tensors: w(0), timeoutMs: 10_000 });
  const verify = await repo.verify();
  assert.ok(verify.ok, JSON.stringify(verify.findings));
  const t = await done.snapshot!.tensor('w');
  assert.ok(Buffer.from(t.data.subarray(600)).equals(Buffer.from(bytes(600, 11))));
  assert.equal((await repo.gc({ graceMs: 0 })).swept, 0, 'nothing of the committed save is garbage');
});

test('manifests: sharded tensors need version 2 and shards that tile the tensor; version 1 manifests still decode', () => {
  const base: SnapshotManifest = {
    format: 'engram.snapshot', version: 2, id: '01KAAAAAAAAAAAAAAAAAAAAAAA', run: 'm', step: 0, parent: null, createdAt: '2026-11-24T00:00:00.000Z',
    message: '', metrics: {}, meta: {}, blobs: {}, files: [], chunks: { ['a'.repeat(64)]: { size: 8, stored: 8 } },
    tensors: { w: { dtype: 'U8', shape: [2, 4], byteLength: 8, chunks: [], shards: [
      { offsets: [0, 0], shape: [1, 4], byteLength: 4, chunks: [{ hash: 'a'.repeat(64), offset: 0, length: 4 }] },
      { offsets: [1, 0], shape: [1, 4], byteLength: 4, chunks: [{ hash: 'a'.repeat(64), offset: 4, length: 4 }] },
    ] } },
  };
  assert.equal(decodeManifest(base.id, encodeManifest(base)).tensors.w!.shards!.length, 2);
  const withShards = (shards: NonNullable<SnapshotManifest['tensors'][string]['shards']>, version: 1 | 2 = 2): SnapshotManifest => ({ ...base, version, tensors: { w: { ...base.tensors.w!, shards } } });
  const s = base.tensors.w!.shards!;
  assert.throws(() => decodeManifest(base.id, encodeManifest(withShards(s, 1))), { code: 'IntegrityMismatch' });
  assert.throws(() => decodeManifest(base.id, encodeManifest(withShards([s[0]!, s[0]!]))), /overlap/);
  assert.throws(() => decodeManifest(base.id, encodeManifest(withShards([s[0]!]))), /4 elements, the tensor 8/);
  assert.throws(() => decodeManifest(base.id, encodeManifest(withShards([s[0]!, { ...s[1]!, offsets: [1, 1] }]))), /outside/);
  const v1: SnapshotManifest = { ...base, version: 1, tensors: { w: { dtype: 'U8', shape: [8], byteLength: 8, chunks: [{ hash: 'a'.repeat(64), offset: 0, length: 8 }] } } };
  assert.equal(decodeManifest(v1.id, encodeManifest(v1)).version, 1);
  assert.throws(() => decodeManifest(base.id, encodeManifest({ ...base, version: 5 as 2 })), { code: 'Unsupported' });
});

test('a later distributed save with the same layout stores its changed shards as deltas against the parent\'s shards, and restores exactly', async () => {
  const repo = await Repository.init('memory://', { store: new MemoryStore(), chunkSize: 4096, smallThreshold: 1024 });
  const weights = gaussian(2 * 64 * 64, 5);
  const save = (step: number, w: Float32Array) => Promise.all([0, 1].map((rank) => saveSharded(repo, {
    run: 'delta', step, rank, worldSize: 2, timeoutMs: 10_000,
    tensors: { w: { dtype: 'F32', globalShape: [128, 64], shards: [{ offsets: [64 * rank, 0], shape: [64, 64], data: new Uint8Array(w.buffer, rank * 64 * 64 * 4, 64 * 64 * 4).slice() }] } },
  })));
  const first = await save(0, weights);
  // A training step: every weight moves a little.
  const next = weights.map((v, i) => v + (i % 7 === 0 ? 1e-4 : 0));
  const second = await save(1, next);
  const snap = second[0]!.snapshot!;
  assert.equal(snap.parent, first[0]!.snapshot!.id);
  const shardChunks = snap.manifest.tensors.w!.shards!.flatMap((s) => s.chunks.map((c) => snap.manifest.chunks[c.hash]!));
  assert.ok(shardChunks.every((c) => c.base !== undefined && c.depth === 1), 'every changed chunk is a delta against the parent shard\'s chunk');
  const stored = (r: typeof first) => r.reduce((n, x) => n + x.storedBytes, 0);
  assert.ok(stored(second) < stored(first) * 0.8, `${stored(second)} bytes for the delta save, ${stored(first)} for the first`);
  assert.ok(Buffer.from((await snap.tensor('w')).data).equals(Buffer.from(next.buffer)));
  assert.ok((await repo.verify()).ok);
});
