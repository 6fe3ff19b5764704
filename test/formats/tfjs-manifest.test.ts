/**
 * A TF.js weights manifest without a model.json (`*-weights_manifest.json` + shards, as face-api.js
 * ships its models; written by test/fixtures/tfjs-manifest/make-manifest.py with numpy): its weights
 * are tensors, quantized ones as their stored uint8/float16 bytes with the quantization recorded
 * (never passed on as float values), each weight named once in a save, every file restored exactly.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { bufferSource, openFileSource, readSafetensors, readTensorFile, rebuildFile } from '../../src/formats/index.ts';
import { FIXTURES, hashTree, runCli, tempDir } from '../helpers/cli.ts';
import { sha } from '../helpers/format-checks.ts';

const DIR = join(FIXTURES, 'tfjs-manifest');
const MANIFEST = 'tiny_model-weights_manifest.json';
interface Weight { name: string; dtype: string; shape: number[]; sha256: string; quantization: { dtype: string; scale?: number; min?: number } | null; dequantized_sha256: string }
const EXPECTED = JSON.parse(await readFile(join(DIR, 'EXPECTED.json'), 'utf8')) as { shards: string[]; weights: Weight[] };

describe('a bare TF.js weights manifest (face-api.js layout)', () => {
  test('the manifest lists its weights as stored; the quantization recorded dequantizes to the true values', async () => {
    const src = await openFileSource(join(DIR, MANIFEST));
    try {
      const file = await readTensorFile(src);
      assert.equal(file.format, 'tfjs');
      assert.deepEqual(file.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] })), EXPECTED.weights.map((w) => ({ name: w.name, dtype: w.dtype, shape: w.shape })));
      for (const w of EXPECTED.weights) {
        const t = file.tensors.find((x) => x.name === w.name)!;
        const bytes = await t.load();
        assert.equal(sha(bytes), w.sha256, w.name);
        const recorded = file.metadata?.[`weight:${w.name}`];
        if (!w.quantization) {
          assert.equal(recorded, undefined, w.name);
          continue;
        }
        const meta = JSON.parse(recorded!) as { dtype: string; quantization: Weight['quantization'] };
        assert.deepEqual(meta, { dtype: 'float32', quantization: w.quantization }, w.name);
        if (w.quantization.dtype === 'uint8') {
          // value = q × scale + min in float32, as TF.js dequantizes: the recorded parameters give the true weights.
          const f = Math.fround;
          const values = Float32Array.from(bytes, (q) => f(f(q * f(w.quantization!.scale!)) + f(w.quantization!.min!)));
          assert.equal(sha(new Uint8Array(values.buffer)), w.dequantized_sha256, w.name);
        }
      }
      assert.deepEqual(rebuildFile(file, () => new Uint8Array(0)), new Uint8Array(await readFile(join(DIR, MANIFEST))));
    } finally {
      await src.close();
    }
  });

  test('each shard is laid out as ranges of those weights and rebuilds byte for byte', async () => {
    assert.equal(EXPECTED.shards.length, 2);
    for (const shard of EXPECTED.shards) {
      const src = await openFileSource(join(DIR, shard));
      try {
        const file = await readTensorFile(src);
        assert.equal(file.format, 'tfjs', shard);
        assert.equal(file.tensorsOf, MANIFEST);
        const loaded = new Map(await Promise.all(file.tensors.map(async (t) => [t.name, await t.load()] as const)));
        assert.deepEqual(rebuildFile(file, (n) => loaded.get(n)!), new Uint8Array(await readFile(join(DIR, shard))), shard);
        assert.ok(file.segments.every((s) => s.kind === 'tensor'), `${shard} is all weight bytes`);
      } finally {
        await src.close();
      }
    }
  });

  test('engram save of the directory: one name per weight; export keeps the stored dtypes; convert keeps the quantization; restore is exact', async () => {
    const work = await tempDir();
    const repo = join(work, 'repo');
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    const save = await runCli(['save', DIR, '--repo', repo, '--run', 'f', '--step', '1', '--json']);
    assert.equal(save.code, 0, save.stderr);
    assert.equal((JSON.parse(save.stdout) as { tensors: number }).tensors, EXPECTED.weights.length);
    const show = JSON.parse((await runCli(['show', 'f@1', '--repo', repo, '--json'])).stdout) as { tensors: Record<string, { dtype: string }> };
    assert.deepEqual(Object.fromEntries(Object.entries(show.tensors).map(([n, t]) => [n, t.dtype])), Object.fromEntries(EXPECTED.weights.map((w) => [`${MANIFEST}:${w.name}`, w.dtype])));
    const out = join(work, 'w.safetensors');
    const exp = await runCli(['export', 'f@1', '--format', 'safetensors', '-o', out, '--repo', repo, '--json']);
    assert.equal(exp.code, 0, exp.stderr);
    assert.equal((JSON.parse(exp.stdout) as { tensors: number }).tensors, EXPECTED.weights.length);
    const restored = join(work, 'restored');
    assert.equal((await runCli(['restore', 'f@1', restored, '--repo', repo])).code, 0);
    const want = await hashTree(DIR);
    want.delete('EXPECTED.json');
    want.delete('make-manifest.py');
    const got = await hashTree(restored);
    for (const [path, hash] of want) assert.equal(got.get(path), hash, path);

    const converted = join(work, 'c.safetensors');
    const conv = await runCli(['convert', join(DIR, MANIFEST), converted]);
    assert.equal(conv.code, 0, conv.stderr);
    const src = await openFileSource(converted);
    try {
      const file = await readSafetensors(src);
      assert.equal(file.tensors.find((t) => t.name === 'conv0/filters')!.dtype, 'U8');
      assert.match(file.metadata?.['weight:conv0/filters'] ?? '', /"uint8"/);
    } finally {
      await src.close();
    }
  });
});
