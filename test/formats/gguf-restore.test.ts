import assert from 'node:assert/strict';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeGguf } from '../../src/formats/index.ts';
import { FIXTURES, hashTree, runCli, tempDir } from '../helpers/cli.ts';

test('engram save then restore gives back every GGUF file byte for byte', async () => {
  const work = await tempDir();
  const repo = join(work, 'repo');
  const input = join(work, 'ckpt');
  await cp(join(FIXTURES, 'gguf'), input, { recursive: true });
  // One more with tensors over the 64 KiB bundling threshold, so they are chunked on their own.
  const big = new Uint8Array(300 * 128 * 2).map((_, i) => (i * 7919) % 251);
  await writeFile(join(input, 'big.Q4_0.gguf'), writeGguf({
    metadata: [{ key: 'general.architecture', type: 'STRING', value: 'llama' }],
    tensors: [
      { name: 'blk.0.w', type: 'Q4_0', shape: [100, 1024], data: big.subarray(0, 100 * 1024 / 32 * 18) },
      { name: 'blk.1.w', type: 'F16', shape: [300, 128], data: big.subarray(0, 300 * 128 * 2) },
    ],
    alignment: 256,
  }));
  assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  const save = await runCli(['save', input, '--repo', repo, '--run', 'gguf', '--step', '1', '--json']);
  assert.equal(save.code, 0, save.stderr);
  const show = JSON.parse((await runCli(['show', 'gguf@1', '--repo', repo, '--json'])).stdout) as { tensors: Record<string, { dtype: string }> };
  const dtypes = Object.values(show.tensors).map((t) => t.dtype);
  assert.ok(dtypes.includes('opaque:Q4_0') && dtypes.includes('opaque:Q8_0') && dtypes.includes('BF16'), JSON.stringify(dtypes));
  const out = join(work, 'restored');
  const restore = await runCli(['restore', 'gguf@1', out, '--repo', repo]);
  assert.equal(restore.code, 0, restore.stderr);
  const want = await hashTree(input);
  assert.equal(want.size, 5);
  assert.deepEqual(await hashTree(out), want);
});
