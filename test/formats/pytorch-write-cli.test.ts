/**
 * `engram export --format pt` and `engram convert … x.pt` checked by PyTorch: a state dict
 * torch.save wrote goes into a repository and comes out as a checkpoint torch.load reads back
 * equal; a safetensors file converts to a .pt with the same tensors.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { bufferSource, readTensorFile, writeSafetensors } from '../../src/formats/index.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { sha } from '../helpers/format-checks.ts';
import { gaussian } from '../helpers/weights.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = new URL('../../scripts/torch-checkpoint.py', import.meta.url).pathname;

type Dump = { tensors: Record<string, { dtype: string; shape: number[]; sha256: string }> };

function torchScript(...args: string[]): Dump {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `${SCRIPT} ${args.join(' ')} failed (python3-torch is needed: apt-get install -y --no-install-recommends python3-torch):\n${r.stderr}`);
  return JSON.parse(r.stdout) as Dump;
}

describe('PyTorch export through the CLI', () => {
  test('torch.save → engram save → engram export --format pt → torch.load(weights_only=True) gives the same tensors', async () => {
    const dir = await tempDir();
    const repo = join(dir, 'repo');
    const ref = join(dir, 'ref.pt');
    const want = torchScript('make', ref);
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    const save = await runCli(['save', ref, '--repo', repo, '--run', 'pt', '--step', '1']);
    assert.equal(save.code, 0, save.stderr);
    const out = join(dir, 'out.pt');
    const res = await runCli(['export', 'pt@1', '--format', 'pt', '--only', 'ref.pt:', '--strip', '-o', out, '--repo', repo, '--json']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal((JSON.parse(res.stdout) as { tensors: number }).tensors, Object.keys(want.tensors).length);
    const got = torchScript('dump', out);
    assert.deepEqual(got.tensors, want.tensors);
    // engram's file keeps the state dict's order, as torch wrote it.
    assert.deepEqual(Object.keys(got.tensors), Object.keys(want.tensors));
  });

  test('engram convert a.safetensors b.pt, and back', async () => {
    const dir = await tempDir();
    const st = join(dir, 'a.safetensors');
    const tensors = [
      { name: 'enc.weight', dtype: 'F32' as const, shape: [16, 8], data: new Uint8Array(gaussian(128, 1).buffer) },
      { name: 'enc.bias', dtype: 'BF16' as const, shape: [16], data: Uint8Array.from({ length: 32 }, (_, i) => (i * 29) & 0xff) },
      { name: 'mask', dtype: 'BOOL' as const, shape: [3], data: Uint8Array.from([1, 0, 1]) },
    ];
    await writeFile(st, writeSafetensors(tensors));
    const pt = join(dir, 'b.pt');
    const res = await runCli(['convert', st, pt]);
    assert.equal(res.code, 0, res.stderr);
    const names: Record<string, string> = { F32: 'float32', BF16: 'bfloat16', BOOL: 'bool' };
    assert.deepEqual(torchScript('dump', pt).tensors, Object.fromEntries(tensors.map((t) => [t.name, { dtype: names[t.dtype]!, shape: t.shape, sha256: sha(t.data) }])));
    const back = join(dir, 'c.safetensors');
    assert.equal((await runCli(['convert', pt, back])).code, 0);
    const file = await readTensorFile(bufferSource(back, new Uint8Array(await readFile(back))));
    assert.deepEqual(await Promise.all(file.tensors.map(async (t) => [t.name, sha(await t.load())])), tensors.map((t) => [t.name, sha(t.data)]));
  });

  test('export --nest writes a training checkpoint of nested dicts that torch loads (weights_only=True)', async () => {
    const dir = await tempDir();
    const repo = join(dir, 'repo');
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    const t = (name: string, seed: number) => ({ name, dtype: 'F32' as const, shape: [4], data: new Uint8Array(gaussian(4, seed).buffer) });
    const tensors = [t('model/fc.weight', 1), t('model/fc.bias', 2), t('optimizer/exp_avg/fc.weight', 3), t('optimizer/exp_avg/fc.bias', 4)];
    const st = join(dir, 'train.safetensors');
    await writeFile(st, writeSafetensors(tensors));
    assert.equal((await runCli(['save', st, '--repo', repo, '--run', 't', '--step', '1'])).code, 0);
    const out = join(dir, 'ckpt.pt');
    const res = await runCli(['export', 't@1', '--format', 'pt', '--only', 'train.safetensors:', '--strip', '--nest', '-o', out, '--repo', repo]);
    assert.equal(res.code, 0, res.stderr);
    const dump = torchScript('dump', out) as Dump & { object: unknown };
    const f32 = (x: (typeof tensors)[number]) => ({ dtype: 'float32', shape: [4], sha256: sha(x.data) });
    // Snapshot tensors are listed by name, so each level is in sorted order.
    assert.deepEqual(dump.tensors, {
      'model.fc.bias': f32(tensors[1]!), 'model.fc.weight': f32(tensors[0]!),
      'optimizer.exp_avg.fc.bias': f32(tensors[3]!), 'optimizer.exp_avg.fc.weight': f32(tensors[2]!),
    });
    assert.deepEqual(dump.object, {
      $dict: [
        ['model', { $dict: [['fc.bias', { $tensor: 'model.fc.bias' }], ['fc.weight', { $tensor: 'model.fc.weight' }]], ordered: true }],
        ['optimizer', { $dict: [['exp_avg', { $dict: [['fc.bias', { $tensor: 'optimizer.exp_avg.fc.bias' }], ['fc.weight', { $tensor: 'optimizer.exp_avg.fc.weight' }]], ordered: true }]], ordered: true }],
      ],
      ordered: true,
    });
  });

  test('a .pt export holds float8 under the storage class torch ≥ 2.1 writes, and engram reads it back', async () => {
    const dir = await tempDir();
    const repo = join(dir, 'repo');
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    const src = join(dir, 'q.safetensors');
    await writeFile(src, writeSafetensors([{ name: 'w8', dtype: 'F8_E4M3', shape: [4], data: new Uint8Array(4) }, { name: 'w', dtype: 'F32', shape: [1], data: new Uint8Array(4) }]));
    assert.equal((await runCli(['save', src, '--repo', repo, '--run', 'q', '--step', '1'])).code, 0);
    const ok = await runCli(['export', 'q@1', '--format', 'pt', '-o', join(dir, 'q.pt'), '--repo', repo]);
    assert.equal(ok.code, 0, ok.stderr);
    const back = await readTensorFile(bufferSource('q.pt', new Uint8Array(await readFile(join(dir, 'q.pt')))));
    assert.deepEqual(back.tensors.map((t) => [t.name, t.dtype]).sort(), [['q.safetensors:w', 'F32'], ['q.safetensors:w8', 'F8_E4M3']]);
  });
});
