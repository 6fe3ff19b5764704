/**
 * A tensor ingested from a .pt file and the same tensor ingested from a safetensors file are stored
 * once: saving the second file into the repository adds only its own header bytes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { bufferSource, readTensorFile, writeSafetensors, type TensorFileInput } from '../../src/formats/index.ts';
import { runCli, tempDir } from '../helpers/cli.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = new URL('../../scripts/torch-checkpoint.py', import.meta.url).pathname;

async function chunkBytes(repo: string): Promise<number> {
  const r = await runCli(['stats', '--repo', repo, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { chunkBytes: number }).chunkBytes;
}

async function save(repo: string, path: string, step: number): Promise<void> {
  const r = await runCli(['save', path, '--repo', repo, '--run', 'w', '--step', String(step)]);
  assert.equal(r.code, 0, r.stderr);
}

test('.pt and safetensors holding the same tensors share their chunks, in either order, and so does an engram-written .pt', async (t) => {
  const dir = await tempDir();
  const pt = join(dir, 'model.pt');
  // A real torch.save file (PyTorch 1.13): f32, bf16 and f16 weights over 64 KiB, two small biases.
  const made = spawnSync(PYTHON, [SCRIPT, 'make-large', pt], { encoding: 'utf8' });
  assert.equal(made.status, 0, `python3-torch is needed (apt-get install -y --no-install-recommends python3-torch):\n${made.stderr}`);
  const file = await readTensorFile(bufferSource(pt, new Uint8Array(await readFile(pt))));
  const tensors: TensorFileInput[] = [];
  for (const x of file.tensors) tensors.push({ name: x.name, dtype: x.dtype, shape: x.shape, data: await x.load() });
  assert.equal(tensors.length, 5);
  const st = join(dir, 'model.safetensors');
  await writeFile(st, writeSafetensors(tensors));
  const logical = tensors.reduce((s, x) => s + x.data.byteLength, 0);

  for (const [first, second] of [[pt, st], [st, pt]] as const) {
    const repo = join(dir, `repo-${first === pt ? 'pt-first' : 'st-first'}`);
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    await save(repo, first, 1);
    const before = await chunkBytes(repo);
    await save(repo, second, 2);
    const added = (await chunkBytes(repo)) - before;
    t.diagnostic(`${first === pt ? '.pt then safetensors' : 'safetensors then .pt'}: first save ${before} chunk bytes, second adds ${added} (${logical} bytes of tensors)`);
    // What the second file adds is its header (a few hundred bytes of JSON, or the pickle and zip
    // records) and the bundle holding the two small biases: far below 2 % of the weights.
    assert.ok(added < logical * 0.02, `second save added ${added} chunk bytes for ${logical} bytes of tensors`);
  }

  // The .pt engram writes from the safetensors snapshot (step 2) deduplicates the same way.
  const repo = join(dir, 'repo-pt-first');
  const before = await chunkBytes(repo);
  const out = join(dir, 'export.pt');
  const exp = await runCli(['export', 'w@2', '--format', 'pt', '--only', 'model.safetensors:', '--strip', '-o', out, '--repo', repo]);
  assert.equal(exp.code, 0, exp.stderr);
  await save(repo, out, 3);
  const added = (await chunkBytes(repo)) - before;
  t.diagnostic(`engram-written .pt adds ${added} chunk bytes`);
  assert.ok(added < logical * 0.02, `engram's .pt added ${added} chunk bytes`);
});
