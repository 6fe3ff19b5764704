/**
 * TF.js models through the repository: `engram save` + `engram restore` give back model.json and
 * every shard byte for byte, and a weight is stored once whether it comes from the model.json, from
 * the shards that cut it, or from a safetensors file holding the same tensor.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fileTensorName, Repository } from '../../src/repo/index.ts';
import { writeModelDirectory, writeSafetensors, writeTfjsModel } from '../../src/formats/index.ts';
import { hashTree, runCli, tempDir } from '../helpers/cli.ts';
import { prng } from '../helpers/fuzz.ts';

const DIR = fileURLToPath(new URL('../fixtures/tfjs/', import.meta.url));

test('engram save then restore gives back every TF.js file byte for byte, and shard-cut weights are stored once', async () => {
  const work = await tempDir();
  const input = join(work, 'ckpt');
  for (const d of ['layers', 'sharded', 'quantized']) await cp(join(DIR, d), join(input, d), { recursive: true });
  // A weight large enough to get chunks of its own (not bundled), cut by 100 KB shards into three files.
  const rnd = prng(3);
  const big = { name: 'dense/kernel', dtype: 'F32' as const, shape: [300, 250], data: new Uint8Array(Float32Array.from({ length: 75_000 }, () => rnd() - 0.5).buffer) };
  const bias = { name: 'dense/bias', dtype: 'F32' as const, shape: [250], data: new Uint8Array(1000).fill(7) };
  await writeModelDirectory(join(input, 'big'), writeTfjsModel([bias, big], { shardBytes: 100_000 }));
  await mkdir(join(input, 'st'));
  await writeFile(join(input, 'st', 'w.safetensors'), writeSafetensors([big]));

  const repo = join(work, 'repo');
  assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  const save = await runCli(['save', input, '--repo', repo, '--run', 'tfjs', '--step', '1']);
  assert.equal(save.code, 0, save.stderr);

  const r = await Repository.open(repo);
  try {
    const snap = await r.snapshot('tfjs@1');
    const m = snap.manifest;
    const formats = Object.fromEntries(m.files.map((f) => [f.path, f.format]));
    for (const [path, format] of Object.entries(formats)) assert.equal(format, path.endsWith('.safetensors') ? 'safetensors' : 'tfjs', path);
    const chunksOf = (path: string, name: string): string[] => m.tensors[fileTensorName(path, name)]!.chunks.map((c) => c.hash);
    const want = chunksOf('st/w.safetensors', 'dense/kernel');
    assert.ok(want.length > 0);
    // 1,000 bias bytes then 300,000 kernel bytes: the kernel spans all four 100 KB shards.
    assert.deepEqual(chunksOf('big/model.json', 'dense/kernel'), want);
    // One weight, one name: the shards' segments name the model.json's tensors and add none.
    assert.deepEqual(snap.tensorNames().filter((n) => n.startsWith('big/')).sort(), ['big/model.json:dense/bias', 'big/model.json:dense/kernel']);
    for (const i of [1, 2, 3, 4]) {
      const shard = m.files.find((f) => f.path === `big/group1-shard${i}of4.bin`)!;
      assert.ok(shard.segments.some((seg) => seg.kind === 'tensor' && seg.tensor === 'big/model.json:dense/kernel'), shard.path);
    }
    const chunkBytes = Object.values(m.chunks).reduce((n, c) => n + c.size, 0);
    assert.ok(chunkBytes < 2 * 300_000, `the 300 KB kernel is stored once (${chunkBytes} chunk bytes in all)`);
    // TF.js's optimizer weights are tensors of the layers model, as the model.json lists them.
    assert.ok(snap.tensorNames().includes(fileTensorName('layers/model.json', 'dense_Dense1/kernel/m')));
  } finally {
    await r.close();
  }

  const out = join(work, 'restored');
  const restore = await runCli(['restore', 'tfjs@1', out, '--repo', repo]);
  assert.equal(restore.code, 0, restore.stderr);
  const before = await hashTree(input);
  assert.equal(before.size, 2 + 6 + 3 + 5 + 1);
  assert.deepEqual(await hashTree(out), before);
});

test('a TF.js model directory lists each weight once: show and export count the manifest\'s weights', async () => {
  const work = await tempDir();
  const repo = join(work, 'repo');
  assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  // sharded/: 13 weights (model and Adam state) cut into 5 shards, weights running across their edges.
  const model = JSON.parse(await readFile(join(DIR, 'sharded', 'model.json'), 'utf8')) as { weightsManifest: { weights: { name: string }[] }[] };
  const weights = model.weightsManifest.flatMap((g) => g.weights.map((w) => w.name));
  assert.equal(weights.length, 13);
  const save = await runCli(['save', join(DIR, 'sharded'), '--repo', repo, '--run', 'm', '--step', '1', '--json']);
  assert.equal(save.code, 0, save.stderr);
  assert.equal((JSON.parse(save.stdout) as { tensors: number }).tensors, 13);
  const show = await runCli(['show', 'm@1', '--repo', repo]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /\n13 tensors:/);
  const json = JSON.parse((await runCli(['show', 'm@1', '--repo', repo, '--json'])).stdout) as { tensors: Record<string, unknown> };
  assert.deepEqual(Object.keys(json.tensors).sort(), weights.map((w) => `model.json:${w}`).sort());
  const out = join(work, 'out.safetensors');
  const exp = await runCli(['export', 'm@1', '--format', 'safetensors', '-o', out, '--repo', repo, '--json']);
  assert.equal(exp.code, 0, exp.stderr);
  assert.equal((JSON.parse(exp.stdout) as { tensors: number }).tensors, 13);
  const restored = join(work, 'restored');
  assert.equal((await runCli(['restore', 'm@1', restored, '--repo', repo])).code, 0);
  assert.deepEqual(await hashTree(restored), await hashTree(join(DIR, 'sharded')));
  // A shard saved without its model.json still owns its weights (the model is read from beside it).
  const alone = await runCli(['save', join(DIR, 'sharded', 'group1-shard1of5.bin'), '--repo', repo, '--run', 'alone', '--json']);
  assert.equal(alone.code, 0, alone.stderr);
  assert.ok((JSON.parse(alone.stdout) as { tensors: number }).tensors > 0);
});
