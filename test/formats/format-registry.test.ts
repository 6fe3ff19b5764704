import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  bufferSource, canHold, checkWritable, detectTensorFormat, formatByName, openFileSource, readTensorFile, tensorFormats, writePytorch,
  writeSafetensors, WRITABLE_FORMATS, type WritableFormat,
} from '../../src/formats/index.ts';
import { DENSE_DTYPES, type DType } from '../../src/tensor/index.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

// Real files (written by numpy, safetensors, ggml's gguf-py, h5py/Keras, torch, onnx, the TF.js
// converter, see each folder's generator) and the format readTensorFile must pick for each;
// undefined: kept opaque.
const FIXTURE_FORMATS: readonly (readonly [string, string | undefined])[] = [
  ['numpy/f32_C.npy', 'npy'],
  ['numpy/f64_scalar_0d.npy', 'npy'],
  ['numpy/stored.npz', 'npz'],
  ['numpy/deflated.npz', 'npz'],
  ['compressed/sparse.npz', 'npz'],
  ['safetensors/dtypes.safetensors', 'safetensors'],
  ['safetensors/empty.safetensors', 'safetensors'],
  ['gguf/metadata.gguf', 'gguf'],
  ['gguf/quantized.gguf', 'gguf'],
  ['hdf5/keras_weights.h5', 'hdf5'],
  ['hdf5/keras_model.h5', 'hdf5'],
  ['compressed/gzip_shuffle.h5', 'hdf5'],
  ['torch/corpus/cnn_state_dict.pt', 'pytorch'],
  ['torch/corpus/cnn_state_dict_legacy.pt', 'pytorch'],
  ['onnx/cnn.onnx', 'onnx'],
  ['onnx/cnn_external.onnx.data', 'onnx'],
  ['tfjs/layers/model.json', 'tfjs'],
  ['tfjs/sharded/group1-shard2of5.bin', 'tfjs'],
  ['tfjs-manifest/tiny_model-weights_manifest.json', 'tfjs'],
  ['tfjs-manifest/EXPECTED.json', undefined],
  ['digits/README.md', undefined],
];

// What canHold answered before the registry (the switch in write-tensor-file.ts), per dense dtype.
const HOLDS: Readonly<Record<WritableFormat, readonly DType[]>> = {
  safetensors: ['F64', 'F32', 'F16', 'BF16', 'F8_E4M3', 'F8_E5M2', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL'],
  npz: ['F64', 'F32', 'F16', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL'],
  gguf: ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8'],
  npy: ['F64', 'F32', 'F16', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL'],
  tfjs: ['F32', 'F16', 'I32', 'BOOL'],
  pt: ['F64', 'F32', 'F16', 'BF16', 'F8_E4M3', 'F8_E5M2', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL'],
  h5: ['F64', 'F32', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL'],
};

describe('format registry', () => {
  test('every format is registered once, under its read name and its --format name', () => {
    const names = tensorFormats().map((f) => f.name);
    assert.deepEqual([...names].sort(), ['gguf', 'hdf5', 'npy', 'npz', 'onnx', 'pytorch', 'safetensors', 'tfjs']);
    const writers = tensorFormats().flatMap((f) => (f.writer ? [f.writer.name] : []));
    assert.equal(new Set(writers).size, writers.length);
    assert.deepEqual(WRITABLE_FORMATS, ['safetensors', 'npz', 'gguf', 'npy', 'tfjs', 'pt', 'h5']);
    for (const f of tensorFormats()) {
      assert.equal(formatByName(f.name), f);
      if (f.writer) assert.equal(formatByName(f.writer.name), f);
      assert.ok(f.extensions.length > 0 && f.extensions.every((e) => /^\.[a-z0-9]+$/.test(e)), f.name);
      assert.ok(f.detectors.length > 0, f.name);
    }
    assert.equal(formatByName('pt')?.name, 'pytorch');
    assert.equal(formatByName('h5')?.name, 'hdf5');
    assert.equal(formatByName('opaque'), undefined);
  });

  test('detectors run in the order readTensorFile always used', () => {
    const order = tensorFormats()
      .flatMap((f) => f.detectors.map((d) => ({ f: f.name, by: d.by, p: d.precedence })))
      .sort((a, b) => a.p - b.p)
      .map((d) => `${d.f}:${d.by}`);
    assert.deepEqual(order, [
      'npy:magic', 'npz:magic', 'gguf:magic', 'hdf5:magic', 'pytorch:content', 'safetensors:name', 'onnx:name', 'tfjs:name', 'onnx:content', 'tfjs:content',
    ]);
  });

  test('detection of each fixture picks its format, and readTensorFile reads it as that format', async () => {
    for (const [path, want] of FIXTURE_FORMATS) {
      const name = path.slice(path.lastIndexOf('/') + 1);
      // Named by its full path: external data and shards are found through the model file beside them.
      const src = await openFileSource(FIXTURES + path);
      try {
        const found = await detectTensorFormat(src);
        assert.equal(found?.name, want, path);
        const file = await readTensorFile(src);
        assert.equal(file.format, want ?? 'opaque', path);
        // The suite finds fixtures by extension; an external data file is named by its model's pointer, not its format.
        if (found && !name.endsWith('.onnx.data')) assert.ok(found.extensions.some((e) => name.toLowerCase().endsWith(e)), path);
        if (want) assert.ok(file.tensors.length > 0 || name.startsWith('empty'), path);
      } finally {
        await src.close();
      }
    }
  });

  test('content before name: a PyTorch zip named .safetensors is PyTorch; a safetensors file named .bin is opaque', async () => {
    const pt = writePytorch([{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(8) }]);
    assert.equal((await detectTensorFormat(bufferSource('m.safetensors', pt)))?.name, 'pytorch');
    const st = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(8) }]);
    assert.equal((await detectTensorFormat(bufferSource('m.bin', st))), undefined);
    assert.equal((await readTensorFile(bufferSource('m.bin', st))).format, 'opaque');
    const bytes = new Uint8Array(await readFile(`${FIXTURES}numpy/stored.npz`));
    assert.equal((await detectTensorFormat(bufferSource('stored.zip', bytes))), undefined, 'a zip is npz only by name');
  });

  test('canHold answers as before, per registered writer and dtype; no format holds opaque blocks', () => {
    for (const format of WRITABLE_FORMATS) {
      assert.deepEqual(DENSE_DTYPES.filter((d) => canHold(format, d)), HOLDS[format], format);
      assert.equal(canHold(format, 'opaque:Q4_0' as DType), false, format);
      const writer = formatByName(format)?.writer;
      assert.ok(writer, format);
      assert.deepEqual(DENSE_DTYPES.filter((d) => writer.canHold(d)), HOLDS[format], format);
    }
  });

  test('checkWritable suggests the first writer that takes the whole set', () => {
    const refused = checkWritable('npz', [{ name: 'a', dtype: 'BF16' }, { name: 'b', dtype: 'F32' }]);
    assert.equal(refused?.code, 'Unsupported');
    assert.equal(refused?.data.suggest, 'safetensors');
    assert.equal(checkWritable('npy', [{ name: 'a', dtype: 'F32' }, { name: 'b', dtype: 'F32' }])?.data.suggest, 'npz');
    const opaque = checkWritable('safetensors', [{ name: 'q', dtype: 'opaque:Q4_0' as DType }]);
    assert.equal(opaque?.code, 'Unsupported');
    assert.equal(opaque?.data.suggest, undefined);
  });
});
