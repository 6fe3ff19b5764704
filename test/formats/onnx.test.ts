/** Reads the ONNX corpus files (copied from shared/corpus with their EXPECTED entries) and hand-built edge cases. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isEngramError } from '../../src/errors/index.ts';
import { bufferSource, openFileSource, readOnnx, readTensorFile, rebuildFile } from '../../src/formats/index.ts';
import { varint } from '../helpers/fuzz.ts';

const DIR = fileURLToPath(new URL('../fixtures/onnx/', import.meta.url));
const DTYPES: Record<string, string> = { float32: 'F32' };

interface Expected {
  readonly size: number;
  readonly tensors: readonly { name: string; dtype: string; shape: number[]; sha256: string }[];
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

for (const name of ['cnn.onnx', 'cnn_external.onnx']) {
  test(`${name} reads into exactly the EXPECTED tensors and rebuilds byte for byte`, async () => {
    const expected = (JSON.parse(await readFile(DIR + 'EXPECTED.json', 'utf8')) as Record<string, Expected>)[name]!;
    const src = await openFileSource(DIR + name);
    try {
      const file = await readTensorFile(src);
      assert.equal(file.format, 'onnx');
      assert.equal(file.size, expected.size);
      const got = await Promise.all(file.tensors.map(async (t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape], sha256: sha(await t.load()) })));
      assert.deepEqual(got, expected.tensors.map((t) => ({ name: t.name, dtype: DTYPES[t.dtype], shape: t.shape, sha256: t.sha256 })));
      const bytes = new Map<string, Uint8Array>();
      for (const t of file.tensors) bytes.set(t.name, await t.load());
      assert.equal(Buffer.compare(rebuildFile(file, (n) => bytes.get(n)!), await readFile(DIR + name)), 0);
      // Inline raw_data tensors are segments of the file; external ones are not.
      const segmentTensors = file.segments.flatMap((s) => (s.kind === 'tensor' ? [s.tensor] : []));
      const inline = name === 'cnn.onnx' ? expected.tensors.map((t) => t.name) : ['fc.bias', 'onnx::Conv_29', 'onnx::Conv_32'];
      assert.deepEqual(segmentTensors.sort(), [...inline].sort());
    } finally {
      await src.close();
    }
  });
}

test('the external data file holds the tensors its sibling model places in it, so their bytes deduplicate', async () => {
  const src = await openFileSource(DIR + 'cnn_external.onnx.data');
  try {
    const file = await readTensorFile(src);
    assert.equal(file.format, 'onnx');
    const expected = (JSON.parse(await readFile(DIR + 'EXPECTED.json', 'utf8')) as Record<string, Expected>)['cnn_external.onnx']!;
    const want = expected.tensors.filter((t) => ['fc.weight', 'onnx::Conv_28', 'onnx::Conv_31'].includes(t.name));
    const got = await Promise.all(file.tensors.map(async (t) => ({ name: t.name, sha256: sha(await t.load()) })));
    assert.deepEqual(got, want.map((t) => ({ name: t.name, sha256: t.sha256 })));
    assert.deepEqual(file.segments.map((s) => s.kind), ['tensor', 'tensor', 'tensor']);
    const bytes = new Map<string, Uint8Array>();
    for (const t of file.tensors) bytes.set(t.name, await t.load());
    assert.equal(Buffer.compare(rebuildFile(file, (n) => bytes.get(n)!), await readFile(DIR + 'cnn_external.onnx.data')), 0);
  } finally {
    await src.close();
  }
});

test('a data file no sibling model refers to stays opaque', async () => {
  const file = await readTensorFile(bufferSource(DIR + 'other.data', new Uint8Array(100)));
  assert.equal(file.format, 'opaque');
});

const key = (field: number, wire: number): number[] => varint((field << 3) | wire);
const ld = (field: number, payload: number[] | Uint8Array): number[] => [...key(field, 2), ...varint(payload.length), ...payload];
const vi = (field: number, v: bigint | number): number[] => [...key(field, 0), ...varint(v)];
const str = (field: number, s: string): number[] => ld(field, [...new TextEncoder().encode(s)]);
const model = (...tensors: number[][]): Uint8Array => new Uint8Array([...vi(1, 8), ...ld(7, tensors.flatMap((t) => ld(5, t))), ...ld(8, [...vi(2, 13)])]);

test('typed fields decode into canonical little-endian bytes, packed or not, and stay literal', async () => {
  const f32 = new Uint8Array(new Float32Array([1.5, -2]).buffer);
  const bytes = model(
    [...vi(1, 2), ...vi(2, 1), ...str(8, 'packed_f32'), ...ld(4, f32)],
    [...vi(1, 3), ...vi(2, 7), ...str(8, 'i64'), ...vi(7, -1), ...vi(7, 5), ...vi(7, 1n << 40n)],
    [...vi(1, 2), ...vi(2, 6), ...str(8, 'packed_i32'), ...ld(5, [...varint(-3), ...varint(7)])],
    [...vi(1, 2), ...vi(2, 10), ...str(8, 'f16'), ...vi(5, 0x3c00), ...vi(5, 0xc000)],
    [...vi(1, 1), ...vi(2, 11), ...str(8, 'f64'), ...key(10, 1), ...new Uint8Array(new Float64Array([0.25]).buffer)],
    [...vi(1, 2), ...vi(2, 12), ...str(8, 'u32'), ...vi(11, 0xffffffff), ...vi(11, 1)],
    [...vi(1, 2), ...vi(2, 9), ...str(8, 'bool'), ...vi(5, 1), ...vi(5, 0)],
  );
  const file = await readOnnx(bufferSource('typed.onnx', bytes));
  const got = Object.fromEntries(await Promise.all(file.tensors.map(async (t) => [t.name, [t.dtype, [...await t.load()]]] as const)));
  const le = (a: ArrayBufferView): number[] => [...new Uint8Array(a.buffer)];
  assert.deepEqual(got, {
    packed_f32: ['F32', [...f32]],
    i64: ['I64', le(new BigInt64Array([-1n, 5n, 1n << 40n]))],
    packed_i32: ['I32', le(new Int32Array([-3, 7]))],
    f16: ['F16', le(new Uint16Array([0x3c00, 0xc000]))],
    f64: ['F64', le(new Float64Array([0.25]))],
    u32: ['U32', le(new Uint32Array([0xffffffff, 1]))],
    bool: ['BOOL', [1, 0]],
  });
  assert.deepEqual(file.segments, [{ kind: 'literal', offset: 0, length: bytes.length }]);
});

test('malformed and unsupported models are typed errors naming the file and offset', async () => {
  const reason = async (bytes: Uint8Array | number[], name = 'bad.onnx'): Promise<string> => {
    try {
      await readOnnx(bufferSource(name, new Uint8Array(bytes)));
    } catch (e) {
      assert.ok(isEngramError(e, 'FormatError'), String(e));
      assert.equal(e.data.file, name);
      assert.equal(typeof e.data.offset, 'number');
      return String(e.data.reason);
    }
    return 'no error';
  };
  const raw = (n: number): number[] => [...vi(1, 2), ...vi(2, 1), ...str(8, 'w'), ...ld(9, new Uint8Array(n))];
  assert.match(await reason(model(raw(7))), /7 bytes of raw_data, expected 8/);
  assert.match(await reason([...key(7, 2), ...varint(1000)]), /graph of 1000 bytes runs past/);
  assert.match(await reason([...key(7, 3)]), /wire type 3/);
  assert.match(await reason([...key(7, 0), ...Array(10).fill(0xff), 1]), /varint/);
  assert.match(await reason(model([...vi(1, 2), ...vi(2, 8), ...str(8, 's')])), /^unsupported ONNX data type 8/);
  assert.match(await reason(model([...vi(1, 1), ...vi(2, 1), ...str(8, 'e'), ...vi(14, 1), ...ld(13, [...str(1, 'location'), ...str(2, '../etc/passwd')])])), /^unsupported external data location/);
  assert.match(await reason(model(raw(8), raw(8))), /given twice/);
  assert.match(await reason(model([...vi(1, 3), ...vi(2, 1), ...str(8, 'w'), ...ld(4, new Uint8Array(8))])), /holds 2 values in float_data, expected 3/);
  assert.match(await reason(model([...vi(1, -1), ...vi(2, 1), ...str(8, 'w')])), /dimension -1/);
  // An unsupported dtype through readTensorFile is kept opaque, so it still saves.
  const opaque = await readTensorFile(bufferSource('s.onnx', model([...vi(1, 2), ...vi(2, 8), ...str(8, 's')])));
  assert.equal(opaque.format, 'opaque');
});
