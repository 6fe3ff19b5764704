/**
 * Distributed saves on a local repository: 4 rank processes, restores onto 1, 2, 3 and 5 ranks,
 * the bytes a resharded restore reads, the CLI's --rank/--world-size, and a rank killed mid-save.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { restoreSharded, SHARDS_METADATA_KEY, splitDim0 } from '../../src/distributed/index.ts';
import { openFileSource, readSafetensors, writeSafetensors } from '../../src/formats/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { FsStore } from '../../src/store/index.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { CountingStore } from '../helpers/counting-store.ts';
import { elementSize, shardedTensors, sliceBox, type TestBox } from './fixtures/layout.ts';
import { checkRestores, killScenario, saveByFourRanks, stagingKeys } from './fixtures/scenario.ts';

const CHUNK = 64 * 1024;
let dir = '';
let id = '';

before(async () => {
  dir = await tempDir('engram-dist-');
  await (await Repository.init(dir, { chunkSize: CHUNK, smallThreshold: 4096 })).close();
  id = await saveByFourRanks(dir, 1, 7);
});

test('4 rank processes save row-, column-, block- and dim-1-sharded tensors plus replicated ones as one snapshot; 1, 2, 3 and 5 ranks restore every tensor bit-exactly', async () => {
  const repo = await Repository.open(dir);
  try {
    const snap = await repo.snapshot('dist@latest');
    assert.equal(snap.id, id);
    assert.equal(snap.manifest.version, 2);
    assert.deepEqual(snap.meta['engram.distributed'], { saveId: 'dist@1', worldSize: 4 });
    assert.equal(snap.manifest.tensors['model/big']!.shards!.length, 8);
    assert.equal(snap.manifest.tensors['model/cols']!.shards!.length, 4);
    assert.equal(snap.manifest.tensors['model/bias']!.shards, undefined, 'a replicated tensor is stored whole, once');
    assert.deepEqual(await stagingKeys(repo), [], 'the committer removed the staged parts');
    const verify = await repo.verify();
    assert.ok(verify.ok, JSON.stringify(verify.findings));
    assert.equal((await repo.stats()).orphanChunks, 0);
    await checkRestores(snap, 7);
  } finally {
    await repo.close();
  }
});

/** Hashes of the chunks of `model/big` whose bytes a rows [r0, r1) box overlaps, computed from the manifest alone. */
function expectedChunks(shards: readonly { offsets: readonly number[]; shape: readonly number[]; chunks: readonly { hash: string; length: number }[] }[], r0: number, r1: number, rowBytes: number): Set<string> {
  const want = new Set<string>();
  for (const s of shards) {
    const lo = Math.max(r0, s.offsets[0]!);
    const hi = Math.min(r1, s.offsets[0]! + s.shape[0]!);
    if (hi <= lo) continue;
    const [a, b] = [(lo - s.offsets[0]!) * rowBytes, (hi - s.offsets[0]!) * rowBytes];
    let pos = 0;
    for (const c of s.chunks) {
      if (pos < b && pos + c.length > a) want.add(c.hash);
      pos += c.length;
    }
  }
  return want;
}

/** A fresh handle on the repository (no chunk cache) whose store records every read. */
async function countingRepo(): Promise<{ repo: Repository; counting: CountingStore }> {
  const counting = new CountingStore(new FsStore(dir));
  return { repo: await Repository.open(dir, { store: counting }), counting };
}

const chunkReads = (c: CountingStore): string[] => c.gets.filter((k) => k.startsWith('chunks/')).map((k) => k.slice(k.lastIndexOf('/') + 1));

test('a resharded restore reads only the chunks its target rows overlap, and an explicit region only the chunks it touches', async () => {
  const rowBytes = 640 * 4;
  const global = shardedTensors(7).find((t) => t.name === 'model/big')!;
  for (const [rank, worldSize] of [[1, 3], [4, 5], [0, 2]] as const) {
    const { repo, counting } = await countingRepo();
    try {
      const snap = await repo.snapshot(id);
      const big = snap.manifest.tensors['model/big']!;
      const box = splitDim0([512, 640], rank, worldSize);
      const mine = await restoreSharded(snap, { rank, worldSize, names: ['model/big'] });
      assert.ok(Buffer.from(mine.get('model/big')!.tensor.data).equals(Buffer.from(sliceBox(global.data, global.shape, 4, box))));
      const reads = chunkReads(counting);
      assert.equal(new Set(reads).size, reads.length, 'no chunk is fetched twice');
      const want = expectedChunks(big.shards!, box.offsets[0]!, box.offsets[0]! + box.shape[0]!, rowBytes);
      assert.deepEqual([...reads].sort(), [...want].sort(), `rank ${rank}/${worldSize} reads exactly the chunks its rows overlap`);
      const rawRead = reads.reduce((n, h) => n + snap.manifest.chunks[h]!.size, 0);
      const overlap = box.shape[0]! * rowBytes;
      const touched = big.shards!.filter((s) => s.offsets[0]! < box.offsets[0]! + box.shape[0]! && s.offsets[0]! + s.shape[0]! > box.offsets[0]!).length;
      assert.ok(rawRead <= overlap + 2 * CHUNK * touched, `${rawRead} bytes read for ${overlap} wanted`);
      assert.ok(reads.length < big.shards!.reduce((n, s) => n + s.chunks.length, 0));
    } finally {
      await repo.close();
    }
  }
  const { repo, counting } = await countingRepo();
  try {
    const snap = await repo.snapshot(id);
    // An explicit box inside one shard: rows 100…109, columns 37…86 lie in one or two chunks.
    const region: TestBox = { offsets: [100, 37], shape: [10, 50] };
    const t = await snap.readRegion('model/big', region.offsets, region.shape);
    assert.ok(Buffer.from(t.data).equals(Buffer.from(sliceBox(global.data, global.shape, 4, region))));
    const regionReads = chunkReads(counting).length;
    assert.ok(regionReads >= 1 && regionReads <= 2, `${regionReads} chunk reads`);
    // A box across the shards of a column-sharded tensor, through a custom plan.
    const cols = shardedTensors(7).find((g) => g.name === 'model/cols')!;
    const planned = await restoreSharded(snap, { rank: 0, worldSize: 1, names: ['model/cols'], plan: () => ({ offsets: [3, 5], shape: [7, 21] }) });
    assert.ok(Buffer.from(planned.get('model/cols')!.tensor.data).equals(Buffer.from(sliceBox(cols.data, cols.shape, elementSize(cols.dtype), { offsets: [3, 5], shape: [7, 21] }))));
    await assert.rejects(snap.readRegion('model/big', [500, 0], [20, 640]), { code: 'InvalidArgument' });
  } finally {
    await repo.close();
  }
});

test('the CLI: engram save --rank/--world-size takes one safetensors file per rank, engram show lists the shard layout, engram restore --rank reshards onto 3 ranks', async () => {
  const repoDir = await tempDir('engram-dist-cli-');
  const work = await tempDir('engram-dist-files-');
  assert.equal((await runCli(['--repo', repoDir, 'init'])).code, 0);
  const g = shardedTensors(11).find((t) => t.name === 'model/cols')!; // F32 [16, 40]
  const bias = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  for (const rank of [0, 1]) {
    // Rank r holds columns [20r, 20r+20) as two shards of 10 columns, under two file names.
    const boxes = [{ offsets: [0, 20 * rank], shape: [16, 10] }, { offsets: [0, 20 * rank + 10], shape: [16, 10] }];
    const layout = Object.fromEntries(boxes.map((b, i) => [`w.${i}`, { tensor: 'w', offsets: b.offsets, global_shape: g.shape }]));
    const bytes = writeSafetensors([
      ...boxes.map((b, i) => ({ name: `w.${i}`, dtype: 'F32' as const, shape: b.shape, data: sliceBox(g.data, g.shape, 4, b) })),
      { name: 'bias', dtype: 'F32', shape: [4], data: bias },
    ], { [SHARDS_METADATA_KEY]: JSON.stringify(layout) });
    await writeFile(join(work, `in-${rank}.safetensors`), bytes);
  }
  const saves = await Promise.all([0, 1].map((rank) => runCli(['--repo', repoDir, '--json', 'save', join(work, `in-${rank}.safetensors`), '--run', 'cli', '--step', '5', '--rank', String(rank), '--world-size', '2', '--metric', 'loss=0.5'])));
  for (const s of saves) assert.equal(s.code, 0, s.stderr);
  const committed = JSON.parse(saves[0]!.stdout) as { id: string; tensors: number };
  assert.equal(committed.tensors, 2);

  const shown = await runCli(['--repo', repoDir, 'show', 'cli@5']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /w {2}F32\[16, 40\] .* 4 shards/);
  assert.match(shown.stdout, /\[0:16, 30:40\]/);
  const json = JSON.parse((await runCli(['--repo', repoDir, '--json', 'show', 'cli@5'])).stdout) as { tensors: Record<string, { shards?: { offsets: number[] }[] }> };
  assert.deepEqual(json.tensors.w!.shards!.map((s) => s.offsets), [[0, 0], [0, 10], [0, 20], [0, 30]]);

  const out = join(work, 'out');
  const restores = await Promise.all([0, 1, 2].map((rank) => runCli(['--repo', repoDir, 'restore', 'cli@latest', out, '--rank', String(rank), '--world-size', '3'])));
  for (const r of restores) assert.equal(r.code, 0, r.stderr);
  const assembled = new Uint8Array(g.data.byteLength);
  for (const rank of [0, 1, 2]) {
    const path = join(out, `rank-${rank}.safetensors`);
    const src = await openFileSource(path, path);
    try {
      const file = await readSafetensors(src);
      const layout = JSON.parse(file.metadata![SHARDS_METADATA_KEY]!) as Record<string, { offsets: number[]; global_shape: number[] }>;
      assert.deepEqual(layout.w!.global_shape, [16, 40]);
      assert.deepEqual(layout.w!.offsets, splitDim0([16, 40], rank, 3).offsets);
      const w = file.tensors.find((t) => t.name === 'w')!;
      assembled.set(await w.load(), layout.w!.offsets[0]! * 40 * 4);
      assert.deepEqual(Buffer.from(await file.tensors.find((t) => t.name === 'bias')!.load()), Buffer.from(bias));
    } finally {
      await src.close();
    }
  }
  assert.ok(Buffer.from(assembled).equals(Buffer.from(g.data)), 'three ranks together hold the saved tensor');
  assert.ok((await readFile(join(out, 'rank-0.safetensors'))).byteLength > 0);

  const missing = await runCli(['--repo', repoDir, 'save', join(work, 'in-0.safetensors'), '--run', 'cli', '--rank', '0', '--world-size', '2']);
  assert.equal(missing.code, 2, 'a distributed save needs --step');
});

test('a rank SIGKILLed mid-save leaves no snapshot and a clean verify; GC recognises its dead intent at once but keeps young orphans; the next save succeeds; GC after the grace period removes the orphans', async () => {
  const killDir = await tempDir('engram-dist-kill-');
  await (await Repository.init(killDir, { chunkSize: CHUNK, smallThreshold: 4096 })).close();
  await killScenario(killDir);
});
