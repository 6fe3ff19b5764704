import assert from 'node:assert/strict';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURES, hashTree, runCli, tempDir } from '../helpers/cli.ts';

test('engram save then restore gives back every ONNX file (inline and external data) byte for byte', async () => {
  const work = await tempDir();
  const repo = join(work, 'repo');
  const input = join(work, 'ckpt');
  await cp(join(FIXTURES, 'onnx'), input, { recursive: true });
  await rm(join(input, 'EXPECTED.json'));
  assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  const save = await runCli(['save', input, '--repo', repo, '--run', 'onnx', '--step', '1', '--json']);
  assert.equal(save.code, 0, save.stderr);
  const show = JSON.parse((await runCli(['show', 'onnx@1', '--repo', repo, '--json'])).stdout) as { tensors: Record<string, { dtype: string }> };
  const names = Object.keys(show.tensors).sort();
  // 6 initializers in each model; the external data file's 3 are cnn_external.onnx's, named once.
  assert.equal(names.length, 12, JSON.stringify(names));
  assert.ok(names.includes('cnn_external.onnx:fc.weight') && names.includes('cnn.onnx:onnx::Conv_31'), JSON.stringify(names));
  assert.ok(!names.some((n) => n.startsWith('cnn_external.onnx.data:')), JSON.stringify(names));
  const out = join(work, 'restored');
  const restore = await runCli(['restore', 'onnx@1', out, '--repo', repo]);
  assert.equal(restore.code, 0, restore.stderr);
  const want = await hashTree(input);
  assert.equal(want.size, 3);
  assert.deepEqual(await hashTree(out), want);
});
