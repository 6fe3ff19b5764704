/**
 * torch tensors engram has no dense form of — quantized (quint8) and sparse COO, as torch.save
 * writes them (test/fixtures/torch/unsupported/make-unsupported.py) — keep their checkpoint opaque:
 * no tensor ever carries their quantized bytes or sparse indices as values, the file is not refused
 * as a hostile pickle, and it saves and restores byte for byte.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { bufferSource, readTensorFile, rebuildFile } from '../../src/formats/index.ts';
import { FIXTURES, hashTree, runCli, tempDir } from '../helpers/cli.ts';
import { sha } from '../helpers/format-checks.ts';

const DIR = join(FIXTURES, 'torch', 'unsupported');

for (const name of ['quantized.pt', 'sparse.pt']) {
  test(`${name}: kept opaque, rebuilt exactly`, async () => {
    const bytes = new Uint8Array(await readFile(join(DIR, name)));
    const file = await readTensorFile(bufferSource(name, bytes));
    assert.equal(file.format, 'opaque');
    assert.deepEqual(file.tensors, []);
    assert.equal(sha(rebuildFile(file, () => new Uint8Array(0))), sha(bytes));
  });
}

test('engram save of quantized and sparse checkpoints succeeds and restores them byte for byte', async () => {
  const work = await tempDir();
  const repo = join(work, 'repo');
  assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  const save = await runCli(['save', join(DIR, 'quantized.pt'), join(DIR, 'sparse.pt'), '--repo', repo, '--run', 'k', '--json']);
  assert.equal(save.code, 0, save.stderr);
  assert.equal((JSON.parse(save.stdout) as { tensors: number }).tensors, 0);
  const out = join(work, 'restored');
  assert.equal((await runCli(['restore', 'k@latest', out, '--repo', repo])).code, 0);
  const got = await hashTree(out);
  for (const name of ['quantized.pt', 'sparse.pt']) assert.equal(got.get(name), sha(new Uint8Array(await readFile(join(DIR, name)))), name);
});
