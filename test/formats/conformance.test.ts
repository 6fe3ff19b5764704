/**
 * Runs the format conformance suite (format.conformance.ts) once per format, each with fixtures
 * written by the real tools (safetensors' save_file, NumPy, torch.save, torch.onnx and the ONNX
 * helper API, gguf-py's GGUFWriter, h5py / Keras, TensorFlow.js; test/fixtures/conformance/ holds the
 * safetensors and GGUF ones, whose other fixtures are laid out by standard-library scripts), and
 * checks that the table covers every format engram writes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WRITABLE_FORMATS, tensorFormats } from '../../src/formats/index.ts';
import { formatConformance, type FormatConformanceEntry } from './format.conformance.ts';

const KIB = 1024;

/** Every format engram reads, by the registry's name, with its fixtures under test/fixtures/. */
const TABLE: readonly FormatConformanceEntry[] = [
  {
    name: 'safetensors', extensions: ['.safetensors'], writable: true, format: 'safetensors',
    fixtures: ['conformance/numpy_save_file.safetensors', 'safetensors/dtypes.safetensors', 'safetensors/empty.safetensors', 'safetensors/holes.safetensors', 'safetensors/metadata.safetensors', 'safetensors/large.safetensors'],
  },
  {
    name: 'npy', extensions: ['.npy'], writable: true, format: 'npy', single: true,
    fixtures: ['numpy/f32_C.npy', 'numpy/i64_F.npy', 'numpy/bool_C.npy', 'numpy/f16_F.npy', 'numpy/f32_empty.npy', 'numpy/f64_scalar_0d.npy', 'numpy/u8_1d.npy'],
  },
  {
    name: 'npz', extensions: ['.npz'], writable: true, format: 'npz',
    fixtures: ['numpy/stored.npz', 'numpy/deflated.npz', 'compressed/mixed_members.npz', 'compressed/sparse_stored.npz'],
  },
  {
    // The GGUF cursor reads its key/values and tensor infos through a 64 KiB window.
    name: 'gguf', extensions: ['.gguf'], writable: true, format: 'gguf', readAhead: 64 * KIB,
    fixtures: ['conformance/gguf_writer.gguf', 'gguf/empty.gguf', 'gguf/metadata.gguf', 'gguf/quantized.gguf'],
  },
  {
    // Zip (torch.save since 1.6) and legacy (_use_new_zipfile_serialization=False) files. The
    // legacy reader reads each of its five pickles through a 64 KiB window.
    name: 'pt', extensions: ['.pt', '.pth', '.bin', '.ckpt'], writable: true, format: 'pytorch', readAhead: 5 * 64 * KIB,
    fixtures: ['torch/corpus/bare_tensor.pt', 'torch/corpus/dtypes.pt', 'torch/corpus/cnn_state_dict.pt', 'torch/corpus/cnn_state_dict_legacy.pt', 'torch/generated/views_legacy.pt', 'torch/strided/state_dict.pt', 'torch/corpus/step_0050.pt'],
  },
  {
    // Inline initializers, external data (the model and its .data file each read on their own),
    // and Constant nodes. The protobuf reader reads the model through 64 KiB windows.
    name: 'onnx', extensions: ['.onnx'], writable: false, format: 'onnx', readAhead: 2 * 64 * KIB,
    fixtures: ['onnx/cnn.onnx', 'onnx/cnn_external.onnx', 'onnx/cnn_external.onnx.data', 'onnx-constants/constants.onnx'],
  },
  {
    // libhdf5 (h5wasm) is handed the whole file.
    name: 'h5', extensions: ['.h5', '.hdf5'], writable: true, format: 'hdf5', readAhead: 'file',
    fixtures: ['hdf5/small_keras.h5', 'hdf5/mixed.h5', 'compressed/gzip_shuffle.h5'],
  },
  {
    // A model.json with its shards, each shard read on its own, and a bare weights manifest.
    name: 'tfjs', extensions: ['.json', '.bin'], writable: true, format: 'tfjs',
    fixtures: ['tfjs/layers/model.json', 'tfjs/layers/weights.bin', 'tfjs/sharded/model.json', 'tfjs/sharded/group1-shard3of5.bin', 'tfjs/quantized/model.json', 'tfjs-manifest/tiny_model-weights_manifest.json', 'tfjs-manifest/tiny_model-shard1'],
  },
];

/**
 * The formats the suite runs: every format in the registry, with its name, extensions and whether
 * it writes taken from the registry and its fixtures from the table. A registered format without
 * a table entry fails the test below rather than going unchecked.
 */
const FORMATS: readonly FormatConformanceEntry[] = tensorFormats().flatMap((f) => {
  const row = TABLE.find((e) => e.format === f.name);
  return row ? [{ ...row, name: f.writer?.name ?? f.name, extensions: f.extensions, writable: f.writer !== undefined }] : [];
});

test('every registered format has a conformance entry with real fixtures, and only those', () => {
  const registered: readonly string[] = tensorFormats().map((f) => f.name);
  for (const name of registered) assert.ok(TABLE.some((e) => e.format === name), `${name} is registered but has no conformance entry`);
  for (const e of TABLE) assert.ok(registered.includes(e.format), `${e.format} has a conformance entry but is not registered`);
  for (const f of tensorFormats()) {
    const row = TABLE.find((e) => e.format === f.name);
    if (row) assert.deepEqual([...row.extensions].sort(), [...f.extensions].sort(), `${f.name}: the table's extensions are the registry's`);
  }
  assert.ok(FORMATS.length === registered.length && FORMATS.every((f) => f.fixtures.length > 0));
});

test('the conformance table covers every writable format, each once', () => {
  const names = FORMATS.map((f) => f.name);
  assert.equal(new Set(names).size, names.length, `a format listed twice: ${names.join(', ')}`);
  for (const w of WRITABLE_FORMATS) assert.ok(names.includes(w), `${w} is writable but has no conformance entry`);
});

for (const entry of FORMATS) formatConformance(entry);
