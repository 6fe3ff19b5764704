/**
 * HDF5 / Keras .h5 through h5wasm: every fixture (h5py-written, incl. the shared corpus's Keras
 * files) reads into exactly its EXPECTED tensors in Keras order and rebuilds byte for byte;
 * contiguous datasets are tensor segments; what engram writes reads back equal, and Debian's h5py
 * reads it with the same values and Keras structure.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isEngramError } from '../../src/errors/index.ts';
import {
  bufferSource, canHold, checkWritable, openFileSource, readHdf5, readTensorFile, writeHdf5, writeTensorFileAsync,
  type IngestedFile,
} from '../../src/formats/index.ts';
import type { DType } from '../../src/tensor/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { isFormatError, rebuild, sha } from '../helpers/format-checks.ts';
import { prng } from '../helpers/fuzz.ts';

const DIR = fileURLToPath(new URL('../fixtures/hdf5/', import.meta.url));
const PYTHON = '/usr/bin/python3';

interface Expected {
  readonly size: number;
  readonly sha256: string;
  readonly tensors: readonly { name: string; dtype: string; shape: number[]; sha256: string; contiguous: boolean }[];
}
const EXPECTED = JSON.parse(await readFile(join(DIR, 'EXPECTED.json'), 'utf8')) as Record<string, Expected>;

async function readFixture(name: string): Promise<{ file: IngestedFile; bytes: Uint8Array }> {
  const bytes = new Uint8Array(await readFile(join(DIR, name)));
  return { file: await readHdf5(bufferSource(join(DIR, name), bytes)), bytes };
}

/** Fails loudly, with the install line, when Debian's h5py is missing. */
function requireH5py(): void {
  try {
    execFileSync(PYTHON, ['-c', 'import h5py'], { stdio: 'pipe' });
  } catch {
    assert.fail(`this test needs Debian's h5py for ${PYTHON}: apt-get install -y --no-install-recommends python3-h5py`);
  }
}

for (const [name, want] of Object.entries(EXPECTED)) {
  test(`${name} reads into its EXPECTED tensors, in order, and rebuilds byte for byte`, async () => {
    const { file, bytes } = await readFixture(name);
    assert.equal(bytes.length, want.size);
    assert.equal(sha(bytes), want.sha256);
    assert.equal(file.format, 'hdf5');
    const got = [];
    for (const t of file.tensors) {
      const data = await t.load();
      assert.equal(data.byteLength, t.byteLength);
      got.push({ name: t.name, dtype: t.dtype, shape: [...t.shape], sha256: sha(data) });
    }
    assert.deepEqual(got, want.tensors.map(({ contiguous: _, ...t }) => t));
    // Contiguous datasets are tensor segments of the layout (so they deduplicate); chunked and
    // compressed ones stay literal.
    const segments = new Set(file.segments.flatMap((s) => (s.kind === 'tensor' ? [s.tensor] : [])));
    assert.deepEqual([...segments].sort(), want.tensors.filter((t) => t.contiguous).map((t) => t.name).sort());
    assert.equal(sha(await rebuild(file)), want.sha256);
  });
}

test('Keras attributes are kept as metadata: model_config JSON, training_config, keras_version, backend, layer_names', async () => {
  const { file } = await readFixture('keras_model.h5');
  const m = file.metadata!;
  assert.equal(JSON.parse(m.model_config!).class_name, 'Sequential');
  assert.equal(JSON.parse(m.training_config!).loss, 'sparse_categorical_crossentropy');
  assert.equal(m.keras_version, '2.11.0');
  assert.equal(m.backend, 'tensorflow');
  assert.deepEqual(JSON.parse(m['model_weights@layer_names']!), ['conv2d', 'batch_normalization', 'max_pooling2d', 'flatten', 'dense', 'dropout', 'dense_1']);
  assert.deepEqual(JSON.parse(m['model_weights/conv2d@weight_names']!), ['conv2d/kernel:0', 'conv2d/bias:0']);
  const mixed = (await readFixture('mixed.h5')).file.metadata!;
  assert.equal(mixed.note, 'engram hdf5 fixture');
  assert.equal(mixed.version, '3');
  assert.equal(mixed['a@about'], 'floats');
});

test('readTensorFile picks HDF5 by its signature whatever the file is called', async () => {
  const bytes = new Uint8Array(await readFile(join(DIR, 'small_keras.h5')));
  const file = await readTensorFile(bufferSource('weights.bin', bytes));
  assert.equal(file.format, 'hdf5');
  assert.deepEqual(file.tensors.map((t) => t.name), EXPECTED['small_keras.h5']!.tensors.map((t) => t.name));
  const src = await openFileSource(join(DIR, 'keras_weights.h5'));
  try {
    assert.equal((await readTensorFile(src)).tensors.length, 10);
  } finally {
    await src.close();
  }
});

test('not HDF5, truncated, or a superblock with impossible sizes: FormatError naming the file, before h5wasm', async () => {
  const bytes = new Uint8Array(await readFile(join(DIR, 'small_keras.h5')));
  await assert.rejects(readHdf5(bufferSource('plain.h5', new Uint8Array(100))), isFormatError('plain.h5'));
  await assert.rejects(readHdf5(bufferSource('cut.h5', bytes.subarray(0, bytes.length - 100))), isFormatError('cut.h5'));
  await assert.rejects(readHdf5(bufferSource('cut.h5', bytes.subarray(0, 20))), isFormatError('cut.h5'));
  const odd = bytes.slice();
  odd[13] = 3; // size of offsets 3
  await assert.rejects(readHdf5(bufferSource('odd.h5', odd)), isFormatError('odd.h5'));
  // A broken object header inside: the library's refusal is a FormatError too, and the next read works.
  const broken = bytes.slice();
  broken.fill(0xff, 96, 600);
  await assert.rejects(readHdf5(bufferSource('broken.h5', broken)), isFormatError('broken.h5'));
  assert.equal((await readHdf5(bufferSource('ok.h5', bytes))).tensors.length, 4);
});

const WRITABLE: readonly DType[] = ['F64', 'F32', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL'];

function randomTensor(rnd: () => number, name: string, dtype: DType, shape: number[]): { name: string; dtype: DType; shape: number[]; data: Uint8Array } {
  const size = { F64: 8, F32: 4, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1 }[dtype as 'F32'];
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n * size);
  if (dtype === 'F32') new Float32Array(data.buffer).forEach((_, i, a) => (a[i] = rnd() - 0.5));
  else if (dtype === 'F64') new Float64Array(data.buffer).forEach((_, i, a) => (a[i] = rnd() * 1e6 - 5e5));
  else if (dtype === 'BOOL') data.forEach((_, i) => (data[i] = rnd() < 0.5 ? 1 : 0));
  else data.forEach((_, i) => (data[i] = Math.floor(rnd() * 256)));
  return { name, dtype, shape, data };
}

test('write → read gives back every tensor: Keras weights, full-model and plain layouts, every writable dtype', async () => {
  const rnd = prng(21);
  const keras = [
    randomTensor(rnd, 'conv/conv/kernel:0', 'F32', [3, 3, 2, 4]),
    randomTensor(rnd, 'conv/conv/bias:0', 'F32', [4]),
    randomTensor(rnd, 'dense/dense/kernel:0', 'F32', [200, 100]),
    randomTensor(rnd, 'dense/dense/bias:0', 'F32', [100]),
  ];
  const full = [
    ...keras.map((t) => ({ ...t, name: `model_weights/${t.name}` })),
    randomTensor(rnd, 'optimizer_weights/Adam/iter:0', 'I64', []),
    randomTensor(rnd, 'optimizer_weights/Adam/dense/kernel/m:0', 'F32', [200, 100]),
  ];
  const plain = WRITABLE.map((d, i) => randomTensor(rnd, i % 2 ? `all/${d.toLowerCase()}` : d.toLowerCase(), d, i === 3 ? [] : [i + 1, 3]));
  plain.push(randomTensor(rnd, 'empty', 'F32', [0, 4]));
  for (const [label, tensors, metadata] of [
    ['keras', keras, { model_config: '{"class_name": "Sequential"}' }],
    ['full model', full, { keras_version: '2.11.0' }],
    ['plain', plain, undefined],
  ] as const) {
    const bytes = await writeHdf5(tensors, metadata);
    const file = await readHdf5(bufferSource(`${label}.h5`, bytes));
    // Keras layouts come back in the order written (weight_names); plain datasets in HDF5 link (name) order.
    const order = label === 'plain' ? [...tensors].sort((a, b) => (a.name < b.name ? -1 : 1)) : tensors;
    assert.deepEqual(file.tensors.map((t) => t.name), order.map((t) => t.name), label);
    for (const [i, t] of file.tensors.entries()) {
      assert.equal(t.dtype, order[i]!.dtype, t.name);
      assert.deepEqual([...t.shape], order[i]!.shape, t.name);
      assert.equal(sha(await t.load()), sha(order[i]!.data), t.name);
    }
    // engram writes contiguous datasets: every non-empty tensor is a segment of the file.
    assert.equal(file.segments.filter((s) => s.kind === 'tensor').length, tensors.filter((t) => t.data.length > 0).length, label);
    assert.equal(sha(await rebuild(file)), sha(bytes), label);
    for (const [k, v] of Object.entries(metadata ?? {})) assert.equal(file.metadata![k], v, `${label} ${k}`);
  }
  // The Keras lists engram writes, as engram reads them back.
  const file = await readHdf5(bufferSource('k.h5', await writeHdf5(keras)));
  assert.equal(file.metadata!.layer_names, '["conv","dense"]');
  assert.equal(file.metadata!['dense@weight_names'], '["dense/kernel:0","dense/bias:0"]');
  assert.equal(file.metadata!.keras_version, '2');
});

test('h5 refuses BF16, F16, FP8 and quantized blocks, and names that are no HDF5 path, with Unsupported naming the tensor', async () => {
  for (const dtype of ['BF16', 'F16', 'F8_E4M3', 'opaque:Q4_0'] as const) {
    assert.equal(canHold('h5', dtype), false, dtype);
    const e = checkWritable('h5', [{ name: 'ok', dtype: 'F32' }, { name: 'x.w', dtype }]);
    assert.ok(isEngramError(e, 'Unsupported') && e.message.includes('"x.w"') && e.message.includes(dtype), String(e));
    await assert.rejects(writeTensorFileAsync('h5', [{ name: 'x.w', dtype, shape: [2], data: new Uint8Array(dtype === 'F8_E4M3' ? 2 : 4) }]), (err: unknown) => {
      assert.ok(isEngramError(err, 'Unsupported'), String(err));
      if (dtype !== 'opaque:Q4_0') assert.equal(err.data.suggest, 'safetensors');
      return true;
    });
  }
  const f32 = (name: string) => ({ name, dtype: 'F32' as const, shape: [1], data: new Uint8Array(4) });
  for (const bad of [[f32('a//b')], [f32('/a')], [f32('a'), f32('a/b')], [f32('a/b'), f32('a')], [f32('x'), f32('x')]]) {
    await assert.rejects(writeHdf5(bad), (e: unknown) => isEngramError(e, 'Unsupported') && e.message.includes('h5 cannot hold'), JSON.stringify(bad.map((t) => t.name)));
  }
});

test("what engram writes, Debian's h5py reads: equal values, Keras layer_names / weight_names structure, model_config", async () => {
  requireH5py();
  const rnd = prng(33);
  const tensors = [
    randomTensor(rnd, 'dense/dense/kernel:0', 'F32', [5, 3]),
    randomTensor(rnd, 'dense/dense/bias:0', 'F32', [3]),
    randomTensor(rnd, 'head/head/kernel:0', 'F64', [3, 2]),
    randomTensor(rnd, 'head/head/steps:0', 'I64', []),
    randomTensor(rnd, 'head/head/mask:0', 'BOOL', [4]),
    randomTensor(rnd, 'head/head/u:0', 'U16', [2, 2]),
  ];
  const work = await tempDir();
  const path = join(work, 'w.h5');
  await writeFile(path, await writeHdf5(tensors, { model_config: '{"class_name": "Sequential"}' }));
  const script = `
import hashlib, json, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r')
def names(v): return [x.decode() if isinstance(x, bytes) else str(x) for x in v]
out = {'layer_names': names(f.attrs['layer_names']), 'model_config': f.attrs['model_config'], 'keras_version': f.attrs['keras_version'], 'weights': []}
for layer in out['layer_names']:
    g = f[layer]
    for w in names(g.attrs['weight_names']):
        a = np.array(g[w][()], order='C')  # ascontiguousarray would make a 0-d array 1-d
        out['weights'].append({'name': layer + '/' + w, 'dtype': a.dtype.str, 'shape': list(a.shape), 'sha256': hashlib.sha256(a.astype(a.dtype.newbyteorder('<')).tobytes()).hexdigest()})
print(json.dumps(out))
`;
  const got = JSON.parse(execFileSync(PYTHON, ['-c', script, path], { encoding: 'utf8' })) as {
    layer_names: string[]; model_config: string; keras_version: string; weights: { name: string; dtype: string; shape: number[]; sha256: string }[];
  };
  assert.deepEqual(got.layer_names, ['dense', 'head']);
  assert.equal(got.model_config, '{"class_name": "Sequential"}');
  assert.equal(got.keras_version, '2');
  const numpy: Record<string, string> = { F32: '<f4', F64: '<f8', I64: '<i8', BOOL: '|u1', U16: '<u2' };
  assert.deepEqual(got.weights, tensors.map((t) => ({ name: t.name, dtype: numpy[t.dtype], shape: t.shape, sha256: sha(t.data) })));
});
