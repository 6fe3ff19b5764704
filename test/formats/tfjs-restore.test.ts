/**
 * TF.js models through the repository: `engram save` + `engram restore` give back model.json and
 * every shard byte for byte, and a weight is stored once whether it comes from the model.json, from
 * the shards that cut it, or from a safetensors file holding the same tensor.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, writeFile } from 'node:fs/promises';
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
    for (const path of ['big/model.json', 'big/group1-shard1of4.bin', 'big/group1-shard2of4.bin', 'big/group1-shard3of4.bin', 'big/group1-shard4of4.bin']) {
      assert.deepEqual(chunksOf(path, 'dense/kernel'), want, path);
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
