/**
 * A state dict whose tensors torch.save wrote with non-contiguous strides (a `.t()` weight, a
 * permuted conv weight, three chunks of one storage): engram reads exactly the state dict's
 * entries — no `storage:<key>` extras — rebuilds the file byte for byte, and what it exports loads
 * into the module with `load_state_dict(strict=True)` (checked by Debian's python3-torch).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { bufferSource, readTensorFile, rebuildFile } from '../../src/formats/index.ts';
import { FIXTURES, hashTree, runCli, tempDir } from '../helpers/cli.ts';
import { sha } from '../helpers/format-checks.ts';

const PYTHON = '/usr/bin/python3';
const DIR = join(FIXTURES, 'torch', 'strided');
const SCRIPT = join(DIR, 'make-strided.py');
const FILE = join(DIR, 'state_dict.pt');
const KEYS = ['fc.weight', 'fc.bias', 'conv.weight', 'conv.bias', 'q.weight', 'k.weight', 'v.weight'];

function strictLoad(path: string): { keys: string[]; equal: boolean } {
  const r = spawnSync(PYTHON, [SCRIPT, 'check', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${SCRIPT} check ${path} failed (python3-torch is needed: apt-get install -y --no-install-recommends python3-torch):\n${r.stderr}`);
  return JSON.parse(r.stdout) as { keys: string[]; equal: boolean };
}

describe('a torch state dict with non-contiguous tensors', () => {
  test('reads as exactly the state dict\'s entries and rebuilds byte for byte', async () => {
    const bytes = new Uint8Array(await readFile(FILE));
    const file = await readTensorFile(bufferSource('state_dict.pt', bytes));
    assert.equal(file.format, 'pytorch');
    assert.deepEqual(file.tensors.map((t) => t.name), KEYS);
    const loaded = new Map(await Promise.all(file.tensors.map(async (t) => [t.name, await t.load()] as const)));
    assert.equal(sha(rebuildFile(file, (n) => loaded.get(n)!)), sha(bytes));
    // The transposed weight owns its storage through a Fortran-order segment; each chunk owns its range.
    const segs = file.segments.filter((s) => s.kind === 'tensor');
    assert.deepEqual(segs.find((s) => s.tensor === 'fc.weight')?.encoding, { order: 'F' });
    for (const n of ['q.weight', 'k.weight', 'v.weight']) assert.equal(segs.find((s) => s.tensor === n)?.length, 48, n);
  });

  test('engram save → show → export safetensors and pt: strict load_state_dict works on both', async () => {
    const dir = await tempDir();
    const repo = join(dir, 'repo');
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    const save = await runCli(['save', FILE, '--repo', repo, '--run', 'r', '--step', '1', '--json']);
    assert.equal(save.code, 0, save.stderr);
    assert.equal((JSON.parse(save.stdout) as { tensors: number }).tensors, KEYS.length);
    const show = await runCli(['show', 'r@1', '--repo', repo, '--json']);
    assert.deepEqual(Object.keys((JSON.parse(show.stdout) as { tensors: Record<string, unknown> }).tensors).sort(), KEYS.map((k) => `state_dict.pt:${k}`).sort());
    for (const [format, name] of [['safetensors', 'out.safetensors'], ['pt', 'out.pt']] as const) {
      const out = join(dir, name);
      const res = await runCli(['export', 'r@1', '--format', format, '--only', 'state_dict.pt:', '--strip', '-o', out, '--repo', repo, '--json']);
      assert.equal(res.code, 0, res.stderr);
      assert.equal((JSON.parse(res.stdout) as { tensors: number }).tensors, KEYS.length);
      const got = strictLoad(out);
      assert.deepEqual([...got.keys].sort(), [...KEYS].sort());
      assert.equal(got.equal, true);
    }
    const restored = join(dir, 'restored');
    assert.equal((await runCli(['restore', 'r@1', restored, '--repo', repo])).code, 0);
    assert.equal((await hashTree(restored)).get('state_dict.pt'), sha(new Uint8Array(await readFile(FILE))));
  });
});
