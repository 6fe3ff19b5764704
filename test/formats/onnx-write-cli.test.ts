/**
 * `engram export --format onnx --template` and `engram convert … --template` end to end: a model
 * saved into a repository comes back out through its template byte for byte, new weights saved
 * from safetensors run in onnxruntime-node to the outputs they imply, and external data follows
 * the output's name.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { openFileSource, readOnnx, writeSafetensors } from '../../src/formats/index.ts';
import { FIXTURES, runCli, tempDir } from '../helpers/cli.ts';
import { sha } from '../helpers/format-checks.ts';
import { prng } from '../helpers/fuzz.ts';

const PYTHON = '/usr/bin/python3';
const CHECK = new URL('../../scripts/onnx-check.py', import.meta.url).pathname;
const INVALID = 2;
const NOT_FOUND = 3;

function onnxCheck(path: string): Record<string, { external: boolean; sha256: string }> {
  const r = spawnSync(PYTHON, [CHECK, path], { encoding: 'utf8' });
  assert.equal(r.status, 0, `onnx.checker refused ${path} (python3-onnx is needed: apt-get install -y --no-install-recommends python3-onnx):\n${r.stderr}`);
  return (JSON.parse(r.stdout) as { initializers: Record<string, { external: boolean; sha256: string }> }).initializers;
}

const INPUT = (() => {
  const r = prng(99);
  return Float32Array.from({ length: 3 * 32 * 32 }, () => r() * 2 - 1);
})();

async function logits(path: string): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(path);
  try {
    return (await s.run({ input: new ort.Tensor('float32', INPUT, [1, 3, 32, 32]) })).logits!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** A repository holding the ONNX fixtures (step 1). */
async function setup(): Promise<{ dir: string; repo: string; models: string }> {
  const dir = await tempDir();
  const repo = join(dir, 'repo');
  const models = join(dir, 'models');
  await cp(join(FIXTURES, 'onnx'), models, { recursive: true });
  await rm(join(models, 'EXPECTED.json'));
  assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  const save = await runCli(['save', models, '--repo', repo, '--run', 'm', '--step', '1']);
  assert.equal(save.code, 0, save.stderr);
  return { dir, repo, models };
}

describe('ONNX export through the CLI', () => {
  // One repository for every test (each writes its outputs to a directory of its own).
  let fx: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    fx = await setup();
  });

  test('a saved model exported through its own template is byte-identical; a new bias from safetensors shifts the logits by it', async () => {
    const { repo, models } = fx;
    const dir = await tempDir();
    const template = join(models, 'cnn.onnx');
    const out = join(dir, 'out', 'cnn.onnx');
    const res = await runCli(['export', 'm@1', '--format', 'onnx', '--template', template, '--only', 'cnn.onnx:', '-o', out, '--repo', repo, '--json']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal((JSON.parse(res.stdout) as { tensors: number }).tensors, 6);
    assert.equal(sha(await readFile(out)), sha(await readFile(template)));

    // New weights arrive as a safetensors file (as a training loop in TypeScript would write them).
    const src = await openFileSource(template);
    const file = await readOnnx(src);
    const bias = new Float32Array((await file.tensors.find((t) => t.name === 'fc.bias')!.load()).slice().buffer);
    await src.close();
    const newBias = bias.map((b, i) => b + (i + 1) * 0.25);
    const st = join(dir, 'tuned.safetensors');
    await writeFile(st, writeSafetensors([{ name: 'fc.bias', dtype: 'F32', shape: [10], data: new Uint8Array(newBias.buffer) }]));
    assert.equal((await runCli(['save', st, '--repo', repo, '--run', 'm', '--step', '2'])).code, 0);
    const tuned = join(dir, 'tuned.onnx');
    const exp = await runCli(['export', 'm@2', '--format', 'onnx', '--template', template, '--only', 'tuned.safetensors:', '-o', tuned, '--repo', repo]);
    assert.equal(exp.code, 0, exp.stderr);
    assert.equal(onnxCheck(tuned)['fc.bias']!.sha256, sha(new Uint8Array(newBias.buffer)));
    const before = await logits(template);
    const after = await logits(tuned);
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(after[i]! - before[i]! - (i + 1) * 0.25) < 1e-4, `logit ${i}: ${after[i]} vs ${before[i]}`);

    // convert does the same without a repository.
    const conv = join(dir, 'conv.onnx');
    const c = await runCli(['convert', st, conv, '--template', template]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(sha(await readFile(conv)), sha(await readFile(tuned)));
  });

  test('a template with external data gives an output with its own data file that onnx.checker and onnxruntime accept', async () => {
    const { repo, models } = fx;
    const dir = await tempDir();
    const out = join(dir, 'out', 'ext.onnx');
    const res = await runCli(['export', 'm@1', '--format', 'onnx', '--template', join(models, 'cnn_external.onnx'), '--only', 'cnn_external.onnx:', '-o', out, '--repo', repo]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual((await readdir(join(dir, 'out'))).sort(), ['ext.onnx', 'ext.onnx.data']);
    // Same weights, same layout: the data file is the template's byte for byte.
    assert.equal(sha(await readFile(join(dir, 'out', 'ext.onnx.data'))), sha(await readFile(join(models, 'cnn_external.onnx.data'))));
    const inits = onnxCheck(out);
    assert.deepEqual(Object.keys(inits).filter((n) => inits[n]!.external).sort(), ['fc.weight', 'onnx::Conv_28', 'onnx::Conv_31']);
    assert.deepEqual(await logits(out), await logits(join(models, 'cnn.onnx')));

    // --external-data moves the weights of an inline template out as well.
    const moved = join(dir, 'moved', 'm.onnx');
    const m = await runCli(['export', 'm@1', '--format', 'onnx', '--template', join(models, 'cnn.onnx'), '--only', 'cnn.onnx:', '--external-data', '-o', moved, '--repo', repo]);
    assert.equal(m.code, 0, m.stderr);
    assert.deepEqual((await readdir(join(dir, 'moved'))).sort(), ['m.onnx', 'm.onnx.data']);
    assert.ok(Object.values(onnxCheck(moved)).some((i) => i.external));
    assert.deepEqual(await logits(moved), await logits(join(models, 'cnn.onnx')));
  });

  test('no --template, a tensor the template lacks, or two tensors for one initializer: clear errors, nothing written', async () => {
    const { repo, models } = fx;
    const dir = await tempDir();
    const out = join(dir, 'x', 'o.onnx');
    const noTemplate = await runCli(['export', 'm@1', '--format', 'onnx', '-o', out, '--repo', repo]);
    assert.equal(noTemplate.code, INVALID);
    assert.match(noTemplate.stderr, /--template/);
    // Without --only, cnn.onnx:fc.weight and cnn_external.onnx:fc.weight both match fc.weight:
    // refused rather than one of them picked.
    const twice = await runCli(['export', 'm@1', '--format', 'onnx', '--template', join(models, 'cnn.onnx'), '-o', out, '--repo', repo]);
    assert.equal(twice.code, INVALID, twice.stderr);
    assert.match(twice.stderr, /both match initializer/);
    const st = join(dir, 'other.safetensors');
    await writeFile(st, writeSafetensors([{ name: 'decoder.weight', dtype: 'F32', shape: [1], data: new Uint8Array(4) }]));
    const missing = await runCli(['convert', st, out, '--template', join(models, 'cnn.onnx')]);
    assert.equal(missing.code, NOT_FOUND, missing.stderr);
    assert.match(missing.stderr, /decoder\.weight/);
    await assert.rejects(readdir(join(dir, 'x')));
  });
});
