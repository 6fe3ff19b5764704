/**
 * writeTfjsModel and `engram export/convert --format tfjs`: golden bytes, then real TensorFlow.js
 * (wasm backend) reading what engram wrote — `tf.io.decodeWeights` to identical values and
 * `tf.loadLayersModel` to a model that predicts exactly as the one TF.js saved — and the CLI
 * writing a directory atomically.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { isEngramError } from '../../src/errors/index.ts';
import {
  canHold, checkWritable, openFileSource, readTensorFile, writeModelDirectory, writeSafetensors, writeTensorDirectory, writeTfjsModel,
  type IngestedFile, type TfjsJson, type TfjsTensorInput,
} from '../../src/formats/index.ts';
import { useWasmBackend } from '../../src/integrations/tfjs/index.ts';
import { f16ToF32 } from '../../src/tensor/index.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { prng } from '../helpers/fuzz.ts';

const DIR = fileURLToPath(new URL('../fixtures/tfjs/', import.meta.url));
const UNSUPPORTED = 8;

before(async () => {
  await useWasmBackend();
});

/** A model directory as TF.js loads it: model.json's manifest, and its shards concatenated per group. */
async function loadArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const parts: ArrayBuffer[] = [];
    for (const g of manifest) for (const p of g.paths) parts.push(new Uint8Array(await readFile(join(dir, p))).buffer);
    return [manifest.flatMap((g) => g.weights), tf.io.CompositeArrayBuffer.join(parts)];
  });
}

/** Every tensor of a file with its bytes, read through readTensorFile. */
async function tensorsOf(path: string): Promise<Map<string, { dtype: string; shape: number[]; data: Uint8Array }>> {
  const src = await openFileSource(path);
  try {
    const file: IngestedFile = await readTensorFile(src);
    const out = new Map<string, { dtype: string; shape: number[]; data: Uint8Array }>();
    for (const t of file.tensors) out.set(t.name, { dtype: t.dtype, shape: [...t.shape], data: (await t.load()).slice() });
    return out;
  } finally {
    await src.close();
  }
}

function randomTensor(rnd: () => number, name: string, dtype: 'F32' | 'I32' | 'BOOL' | 'F16', shape: number[]): TfjsTensorInput {
  const n = shape.reduce((a, d) => a * d, 1);
  let data: Uint8Array;
  if (dtype === 'F32') data = new Uint8Array(Float32Array.from({ length: n }, () => rnd() * 2 - 1).buffer);
  else if (dtype === 'I32') data = new Uint8Array(Int32Array.from({ length: n }, () => Math.floor(rnd() * 2 ** 32) - 2 ** 31).buffer);
  else if (dtype === 'BOOL') data = Uint8Array.from({ length: n }, () => (rnd() < 0.5 ? 1 : 0));
  // Finite halves only (exponent < 31), so every value compares equal to itself.
  else data = new Uint8Array(Uint16Array.from({ length: n }, () => Math.floor(rnd() * 0x7800) | (rnd() < 0.5 ? 0x8000 : 0)).buffer);
  return { name, dtype, shape, data };
}

describe('writeTfjsModel', () => {
  test('golden bytes: model.json and shards cut at shardBytes, weights spanning shard edges', () => {
    const files = writeTfjsModel([
      { name: 'w', dtype: 'F32', shape: [2], data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) },
      { name: 'h', dtype: 'F16', shape: [1], data: Uint8Array.from([9, 10]) },
    ], { shardBytes: 6, optimizer: [{ name: 'iter', dtype: 'I32', shape: [], data: Uint8Array.from([11, 0, 0, 0]) }], metadata: { by: 'test' } });
    assert.deepEqual(files.map((f) => f.path), ['model.json', 'group1-shard1of3.bin', 'group1-shard2of3.bin', 'group1-shard3of3.bin']);
    assert.equal(new TextDecoder().decode(files[0]!.bytes),
      '{"generatedBy":"engram","convertedBy":null,"modelTopology":null,"weightsManifest":[{"paths":["group1-shard1of3.bin","group1-shard2of3.bin","group1-shard3of3.bin"],' +
      '"weights":[{"name":"w","shape":[2],"dtype":"float32"},{"name":"h","shape":[1],"dtype":"float32","quantization":{"dtype":"float16"}},' +
      '{"name":"iter","shape":[],"dtype":"int32","group":"optimizer"}]}],"userDefinedMetadata":{"by":"test"}}');
    assert.deepEqual([...files[1]!.bytes], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...files[2]!.bytes], [7, 8, 9, 10, 11, 0]);
    assert.deepEqual([...files[3]!.bytes], [0, 0]);
  });

  test('refuses what TF.js cannot store, naming the tensor and a format that can', () => {
    assert.ok(canHold('tfjs', 'F32') && canHold('tfjs', 'I32') && canHold('tfjs', 'BOOL') && canHold('tfjs', 'F16'));
    for (const dtype of ['BF16', 'F64', 'I64', 'U8', 'I8', 'opaque:Q4_K'] as const) assert.equal(canHold('tfjs', dtype), false, dtype);
    const e = checkWritable('tfjs', [{ name: 'ok', dtype: 'F32' }, { name: 'emb', dtype: 'BF16' }])!;
    assert.equal(e.code, 'Unsupported');
    assert.match(e.message, /tfjs cannot hold tensor "emb" of dtype BF16; write \.safetensors instead/);
    assert.throws(() => writeTfjsModel([{ name: 'x', dtype: 'I64', shape: [1], data: new Uint8Array(8) }]), (err) => isEngramError(err, 'Unsupported'));
    assert.throws(() => writeTfjsModel([{ name: 'x', dtype: 'F32', shape: [2], data: new Uint8Array(4) }]), (err) => isEngramError(err, 'InvalidArgument'));
  });

  test('tf.io.decodeWeights reads what engram writes with identical values (every dtype, optimizer group, spanning shards)', async () => {
    const rnd = prng(7);
    const model = [randomTensor(rnd, 'dense/kernel', 'F32', [37, 29]), randomTensor(rnd, 'dense/bias', 'F32', [29]), randomTensor(rnd, 'embed', 'F16', [13, 7]),
      randomTensor(rnd, 'ids', 'I32', [101]), randomTensor(rnd, 'mask', 'BOOL', [3, 5]), randomTensor(rnd, 'scalar', 'F32', []), randomTensor(rnd, 'empty', 'F32', [0, 4])];
    const optimizer = [randomTensor(rnd, 'dense/kernel/m', 'F32', [37, 29]), randomTensor(rnd, 'iter', 'I32', [])];
    const work = await tempDir();
    const dir = join(work, 'web_model');
    await writeModelDirectory(dir, writeTfjsModel(model, { optimizer, shardBytes: 1000 }));
    assert.ok((await readdir(dir)).length > 5, 'several shards');
    const artifacts = await loadArtifacts(dir);
    assert.deepEqual(artifacts.weightSpecs!.filter((s) => s.group === 'optimizer').map((s) => s.name), ['dense/kernel/m', 'iter']);
    const decoded = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    for (const t of [...model, ...optimizer]) {
      const got = decoded[t.name]!;
      assert.deepEqual(got.shape, t.shape, t.name);
      const values = got.dataSync();
      let want: ArrayLike<number>;
      if (t.dtype === 'F32') want = new Float32Array(t.data.slice().buffer);
      else if (t.dtype === 'I32') want = new Int32Array(t.data.slice().buffer);
      else if (t.dtype === 'BOOL') want = t.data;
      else want = f16ToF32(t.data);
      assert.deepEqual(Array.from(values), Array.from(want), t.name);
    }
    tf.dispose(Object.values(decoded));
    // engram reads its own output back to the same tensors (F16 stays F16).
    const back = await tensorsOf(join(dir, 'model.json'));
    for (const t of [...model, ...optimizer]) assert.deepEqual(back.get(t.name), { dtype: t.dtype, shape: t.shape, data: t.data }, t.name);
  });

  test('tf.loadLayersModel loads a model engram rewrote from a TF.js-saved one, and predicts the same', async () => {
    const source = join(DIR, 'sharded');
    const original = await tf.loadLayersModel({ load: () => loadArtifacts(source) });
    const json = JSON.parse(await readFile(join(source, 'model.json'), 'utf8')) as { modelTopology: TfjsJson; trainingConfig: TfjsJson; format: string };
    const tensors = await tensorsOf(join(source, 'model.json'));
    const specs = (await loadArtifacts(source)).weightSpecs!;
    const input = (g?: string): TfjsTensorInput[] => specs.filter((s) => s.group === g).map((s) => ({ name: s.name, ...tensors.get(s.name)! } as TfjsTensorInput));
    const dir = join(await tempDir(), 'rewritten');
    await writeModelDirectory(dir, writeTfjsModel(input(undefined), {
      optimizer: input('optimizer'), modelTopology: json.modelTopology, trainingConfig: json.trainingConfig, format: json.format, shardBytes: 128,
    }));
    const loaded = await tf.loadLayersModel({ load: () => loadArtifacts(dir) });
    const x = tf.tensor2d(Array.from({ length: 15 }, (_, i) => Math.cos(i)), [3, 5]);
    const a = original.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
    assert.deepEqual(loaded.getWeights().map((w) => Array.from(w.dataSync())), original.getWeights().map((w) => Array.from(w.dataSync())));
    tf.dispose([x, a, b]);
    original.dispose();
    loaded.dispose();
  });

  test('a quantized model: TF.js dequantizes to exactly what engram\'s stored bytes and metadata give', async () => {
    const dir = join(DIR, 'quantized');
    const artifacts = await loadArtifacts(dir);
    const decoded = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    const src = await openFileSource(join(dir, 'model.json'));
    try {
      const file = await readTensorFile(src);
      const kernel = await file.tensors.find((t) => t.name === 'dense/kernel')!.load();
      const { quantization: q } = JSON.parse(file.metadata!['weight:dense/kernel']!) as { quantization: { scale: number; min: number } };
      // TF.js computes v * scale + min in double precision, stored as float32.
      const want = Float32Array.from(kernel, (v) => v * q.scale + q.min);
      assert.deepEqual(Array.from(decoded['dense/kernel']!.dataSync()), Array.from(want));
      const bias = await file.tensors.find((t) => t.name === 'dense/bias')!.load();
      assert.deepEqual(Array.from(decoded['dense/bias']!.dataSync()), Array.from(f16ToF32(bias)));
      assert.deepEqual(Array.from(decoded.step!.dataSync()), [3, -7, 1 << 20]);
      assert.deepEqual(Array.from(decoded.mask!.dataSync()), [1, 0, 1, 1]);
    } finally {
      await src.close();
      tf.dispose(Object.values(decoded));
    }
  });

  test('writeModelDirectory refuses a non-empty directory and replaces an empty one', async () => {
    const work = await tempDir();
    const files = writeTfjsModel([{ name: 'w', dtype: 'F32', shape: [1], data: new Uint8Array(4) }]);
    await mkdir(join(work, 'empty'));
    await writeModelDirectory(join(work, 'empty'), files);
    assert.deepEqual((await readdir(join(work, 'empty'))).sort(), ['group1-shard1of1.bin', 'model.json']);
    await assert.rejects(writeModelDirectory(join(work, 'empty'), files), (e) => isEngramError(e, 'Conflict'));
    assert.deepEqual((await readdir(work)).sort(), ['empty'], 'no temporary directory is left behind');
  });
});

describe('engram export and convert --format tfjs', () => {
  test('convert a TF.js model.json to safetensors and back to tfjs: the same tensors, optimizer group kept by name', async () => {
    const work = await tempDir();
    const st = join(work, 'm.safetensors');
    const conv = await runCli(['convert', join(DIR, 'layers', 'model.json'), st]);
    assert.equal(conv.code, 0, conv.stderr);
    const want = await tensorsOf(join(DIR, 'layers', 'model.json'));
    assert.deepEqual(await tensorsOf(st), want);
    const out = join(work, 'web');
    const back = await runCli(['convert', st, out, '--format', 'tfjs', '--json']);
    assert.equal(back.code, 0, back.stderr);
    assert.equal((JSON.parse(back.stdout) as { format: string }).format, 'tfjs');
    assert.deepEqual(await tensorsOf(join(out, 'model.json')), want);
    // A second convert into the same, now full, directory is refused and leaves it untouched.
    const again = await runCli(['convert', st, out, '--format', 'tfjs']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already holds/);
  });

  test('export a snapshot as tfjs: optimizer/ tensors go into the optimizer group; BF16 is refused before writing', async () => {
    const work = await tempDir();
    const repo = join(work, 'repo');
    const input = join(work, 'in');
    await mkdir(input);
    const rnd = prng(11);
    const w = randomTensor(rnd, 'w', 'F32', [300, 70]);
    await writeFile(join(input, 'model.safetensors'), writeSafetensors([w]));
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    assert.equal((await runCli(['save', input, '--repo', repo, '--run', 'r', '--step', '1'])).code, 0);
    const out = join(work, 'web');
    const exp = await runCli(['export', 'r@1', '--format', 'tfjs', '-o', out, '--repo', repo]);
    assert.equal(exp.code, 0, exp.stderr);
    const got = await tensorsOf(join(out, 'model.json'));
    assert.deepEqual(got.get('model.safetensors:w'), { dtype: 'F32', shape: [300, 70], data: w.data });
    // 84,000 bytes in one 4 MiB shard.
    assert.deepEqual((await readdir(out)).sort(), ['group1-shard1of1.bin', 'model.json']);

    const dir2 = writeTensorDirectory('tfjs', [w, { ...w, name: 'optimizer/w/m' }]);
    const manifest = JSON.parse(new TextDecoder().decode(dir2[0]!.bytes)) as { weightsManifest: { weights: { name: string; group?: string }[] }[] };
    assert.deepEqual(manifest.weightsManifest[0]!.weights.map((x) => [x.name, x.group]), [['w', undefined], ['optimizer/w/m', 'optimizer']]);

    await writeFile(join(input, 'half.safetensors'), writeSafetensors([{ name: 'e', dtype: 'BF16', shape: [2], data: new Uint8Array(4) }]));
    assert.equal((await runCli(['save', input, '--repo', repo, '--run', 'r', '--step', '2'])).code, 0);
    const refused = await runCli(['export', 'r@2', '--format', 'tfjs', '-o', join(work, 'web2'), '--repo', repo]);
    assert.equal(refused.code, UNSUPPORTED, refused.stderr);
    assert.match(refused.stderr, /tfjs cannot hold tensor "half\.safetensors:e" of dtype BF16; write \.safetensors instead/);
    assert.deepEqual((await readdir(work)).sort(), ['in', 'repo', 'web'], 'nothing written for a refused export');
  });
});
