import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isEngramError } from '../../src/errors/index.ts';
import {
  bufferSource, openFileSource, readSafetensors, writeSafetensors,
} from '../../src/formats/index.ts';
import type { DType } from '../../src/tensor/index.ts';
import { counting, isFormatError, rebuild, sha } from '../helpers/format-checks.ts';

const DIR = fileURLToPath(new URL('../fixtures/safetensors/', import.meta.url));
interface Expected {
  size: number;
  file_sha256: string;
  metadata?: Record<string, string>;
  tensors: { name: string; dtype: string; shape: number[]; sha256: string }[];
}
const EXPECTED = JSON.parse(await readFile(`${DIR}EXPECTED.json`, 'utf8')) as { files: Record<string, Expected> };

const fixture = async (name: string): Promise<Uint8Array> => new Uint8Array(await readFile(DIR + name));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);




/** A safetensors file from a header given as text (unpadded) and a data area. */
function withHeader(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = enc(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (...v: number[]): Uint8Array => new Uint8Array(new Float32Array(v).buffer);

describe('readSafetensors on the fixtures', () => {
  for (const [name, want] of Object.entries(EXPECTED.files)) {
    test(name, async () => {
      const bytes = await fixture(name);
      assert.equal(sha(bytes), want.file_sha256);
      const file = await readSafetensors(bufferSource(name, bytes));
      assert.equal(file.format, 'safetensors');
      assert.equal(file.size, want.size);
      assert.deepEqual(file.metadata, want.metadata);
      const got = await Promise.all(file.tensors.map(async (t) => {
        const data = await t.load();
        assert.equal(data.byteLength, t.byteLength);
        return { name: t.name, dtype: t.dtype as string, shape: [...t.shape], sha256: sha(data) };
      }));
      // EXPECTED lists tensors in file order, which is the order the reader reports them in.
      assert.deepEqual(got, want.tensors);
      assert.equal(sha(await rebuild(file)), want.file_sha256);

      // The header, padding included, is the first literal segment.
      const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      assert.deepEqual(file.segments[0], { kind: 'literal', offset: 0, length: 8 + n });
      const tensorSegments = file.segments.filter((s) => s.kind === 'tensor');
      assert.equal(tensorSegments.length, file.tensors.filter((t) => t.byteLength > 0).length, 'empty tensors get no segment');
      assert.ok(tensorSegments.every((s) => s.encoding === undefined && s.offset === 0));
    });
  }

  test('holes between tensors and trailing bytes are literal segments', async () => {
    const file = await readSafetensors(bufferSource('holes.safetensors', await fixture('holes.safetensors')));
    assert.deepEqual(file.segments.map((s) => s.kind), ['literal', 'tensor', 'literal', 'tensor', 'literal']);
    const trailing = file.segments.at(-1)!;
    assert.equal(new TextDecoder().decode(file.literal.subarray(trailing.offset)), 'trailing bytes kept verbatim\n');
  });

  test('reading parses the header only; load() reads one tensor (from a real file handle)', async () => {
    const inner = await openFileSource(DIR + 'large.safetensors');
    try {
      const src = counting(inner);
      const file = await readSafetensors(src);
      const headerEnd = file.segments[0]!.length;
      assert.ok(src.reads.every(([o, l]) => o + l <= headerEnd), `read past the header: ${JSON.stringify(src.reads)}`);
      src.reads.length = 0;
      const data = await file.tensors[0]!.load();
      assert.deepEqual(src.reads, [[headerEnd, 1100 * 1000 * 4]]);
      assert.equal(sha(data), EXPECTED.files['large.safetensors']!.tensors[0]!.sha256);
    } finally {
      await inner.close();
    }
  });
});

describe('writeSafetensors', () => {
  test('golden bytes: the safetensors crate test vectors', () => {
    const data = f32(0, 1, 2, 3, 4, 5);
    // 64 bytes of JSON: already a multiple of 8, so no padding.
    const h1 = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    assert.equal(h1.length, 64);
    assert.deepEqual(writeSafetensors([{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data }]),
      new Uint8Array([64, 0, 0, 0, 0, 0, 0, 0, ...enc(h1), ...data]));
    // 65 bytes of JSON, padded with 7 spaces to 72.
    const h2 = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
    assert.deepEqual(writeSafetensors([{ name: 'attn0', dtype: 'F32', shape: [1, 1, 2, 3], data }]),
      new Uint8Array([72, 0, 0, 0, 0, 0, 0, 0, ...enc(h2), ...enc(' '.repeat(7)), ...data]));
    assert.deepEqual(writeSafetensors([]), new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, ...enc('{}      ')]));
    assert.deepEqual(writeSafetensors([], { framework: 'pt' }),
      new Uint8Array([40, 0, 0, 0, 0, 0, 0, 0, ...enc('{"__metadata__":{"framework":"pt"}}     ')]));
  });

  test('orders tensors by dtype (widest first, then the crate\'s enum order) then name; data follows that order', async () => {
    const t = (name: string, dtype: DType, bytes: number): { name: string; dtype: DType; shape: number[]; data: Uint8Array } =>
      ({ name, dtype, shape: [bytes], data: new Uint8Array(bytes * ({ U8: 1, BOOL: 1, I16: 2, BF16: 2, F16: 2, F32: 4, I64: 8, F64: 8, U64: 8 } as Record<string, number>)[dtype]!).fill(name.charCodeAt(0)) });
    const out = writeSafetensors([t('b', 'U8', 1), t('a', 'F32', 1), t('z', 'F64', 1), t('c', 'BOOL', 1), t('y', 'I64', 1), t('d', 'F32', 1), t('x', 'U64', 1), t('h', 'F16', 1), t('g', 'BF16', 1)]);
    const file = await readSafetensors(bufferSource('order.safetensors', out));
    assert.deepEqual(file.tensors.map((x) => x.name), ['x', 'y', 'z', 'a', 'd', 'g', 'h', 'b', 'c']);
    const n = Number(new DataView(out.buffer).getBigUint64(0, true));
    assert.equal(n % 8, 0);
    const header = new TextDecoder().decode(out.subarray(8, 8 + n));
    assert.ok(header.startsWith('{"x":{"dtype":"U64","shape":[1],"data_offsets":[0,8]},"y":'), header);
    // Padding: fewer than 8 spaces after the closing brace.
    assert.ok(header.trimEnd().endsWith('}') && n - header.trimEnd().length < 8);
  });

  test('reproduces the fixtures written like the reference serializer, byte for byte', async () => {
    for (const name of ['metadata.safetensors', 'empty.safetensors', 'dtypes.safetensors', 'large.safetensors']) {
      const bytes = await fixture(name);
      const file = await readSafetensors(bufferSource(name, bytes));
      const tensors = await Promise.all(file.tensors.map(async (t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: await t.load() })));
      assert.ok(sha(writeSafetensors(tensors, file.metadata)) === sha(bytes), name);
    }
  });

  test('round trip through readSafetensors, with metadata and names that need escaping', async () => {
    const tensors = [
      { name: 'layer "0"/w\\ü', dtype: 'BF16' as const, shape: [2, 2], data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
      { name: '123', dtype: 'I8' as const, shape: [3], data: new Uint8Array([255, 0, 1]) },
      { name: 'empty', dtype: 'F32' as const, shape: [0, 5], data: new Uint8Array(0) },
    ];
    const out = writeSafetensors(tensors, { 'a"b': 'c\nd', step: '7' });
    const file = await readSafetensors(bufferSource('rt.safetensors', out));
    assert.deepEqual(file.metadata, { 'a"b': 'c\nd', step: '7' });
    for (const t of tensors) {
      const got = file.tensors.find((x) => x.name === t.name)!;
      assert.equal(got.dtype, t.dtype);
      assert.deepEqual(got.shape, t.shape);
      assert.deepEqual(await got.load(), t.data);
    }
    assert.deepEqual(await rebuild(file), out);
  });

  test('refuses duplicate names, opaque dtypes and data that does not fit the shape', () => {
    const a = { name: 'a', dtype: 'U8' as const, shape: [1], data: new Uint8Array(1) };
    assert.throws(() => writeSafetensors([a, a]), (e) => isEngramError(e, 'InvalidArgument'));
    assert.throws(() => writeSafetensors([{ ...a, name: '__metadata__' }]), (e) => isEngramError(e, 'InvalidArgument'));
    assert.throws(() => writeSafetensors([{ ...a, dtype: 'opaque:Q4_K' }]), (e) => isEngramError(e, 'InvalidArgument'));
    assert.throws(() => writeSafetensors([{ ...a, shape: [2] }]), (e) => isEngramError(e, 'InvalidArgument'));
  });
});

describe('readSafetensors: malformed files are FormatErrors naming the file', () => {
  const good = writeSafetensors([
    { name: 'a', dtype: 'F32', shape: [2, 2], data: f32(1, 2, 3, 4) },
    { name: 'b', dtype: 'F32', shape: [3], data: f32(5, 6, 7) },
  ]);
  const t = (dtype: string, shape: unknown, offsets: unknown): string =>
    JSON.stringify({ dtype, shape, data_offsets: offsets });
  const data = new Uint8Array(28);

  const cases: Record<string, Uint8Array> = {
    'empty.safetensors': new Uint8Array(0),
    'seven-bytes.safetensors': good.subarray(0, 7),
    'truncated.safetensors': good.subarray(0, Math.floor(good.length / 2)),
    'header-past-eof.safetensors': (() => {
      const b = good.slice();
      new DataView(b.buffer).setBigUint64(0, BigInt(good.length), true);
      return b;
    })(),
    'header-over-100mb.safetensors': (() => {
      const b = new Uint8Array(16);
      new DataView(b.buffer).setBigUint64(0, 200_000_000n, true);
      return b;
    })(),
    'header-2^64-1.safetensors': new Uint8Array([255, 255, 255, 255, 255, 255, 255, 255, 123, 125]),
    'invalid-json.safetensors': withHeader('{"a":', data),
    'not-utf8.safetensors': new Uint8Array([...withHeader('{"a":"xx"}').subarray(0, 13), 0xff, 0xfe, 0x22, 0x7d]),
    'array-header.safetensors': withHeader('[1,2]'),
    'null-header.safetensors': withHeader('null'),
    'overlap.safetensors': withHeader(`{"a":${t('F32', [4], [0, 16])},"b":${t('F32', [3], [12, 24])}}`, data),
    'out-of-range.safetensors': withHeader(`{"a":${t('F32', [7], [4, 32])}}`, data),
    'huge-offset.safetensors': withHeader(`{"a":${t('F32', [7], [0, 1e300])}}`, data),
    'negative-offset.safetensors': withHeader(`{"a":${t('U8', [4], [-4, 0])}}`, data),
    'reversed-offsets.safetensors': withHeader(`{"a":${t('U8', [0], [8, 4])}}`, data),
    'fractional-offset.safetensors': withHeader(`{"a":${t('U8', [1], [0.5, 1.5])}}`, data),
    'one-offset.safetensors': withHeader(`{"a":${t('U8', [1], [0])}}`, data),
    'shape-mismatch.safetensors': withHeader(`{"a":${t('F32', [2, 3], [0, 16])}}`, data),
    'shape-overflow.safetensors': withHeader(`{"a":${t('F32', [2 ** 40, 2 ** 40, 2 ** 40], [0, 0])}}`, data),
    'shape-negative.safetensors': withHeader(`{"a":${t('F32', [-1], [0, 0])}}`, data),
    'shape-float.safetensors': withHeader(`{"a":${t('F32', [1.5], [0, 6])}}`, data),
    'shape-string.safetensors': withHeader(`{"a":${t('F32', '4', [0, 16])}}`, data),
    'unknown-dtype.safetensors': withHeader(`{"a":${t('F128', [1], [0, 16])}}`, data),
    'opaque-dtype.safetensors': withHeader(`{"a":${t('opaque:Q4_K', [1], [0, 1])}}`, data),
    'entry-not-object.safetensors': withHeader('{"a":[1,2]}', data),
    'bad-metadata.safetensors': withHeader('{"__metadata__":{"step":7}}', data),
    'metadata-array.safetensors': withHeader('{"__metadata__":["x"]}', data),
  };
  for (const [name, bytes] of Object.entries(cases)) {
    test(name, async () => {
      await assert.rejects(readSafetensors(bufferSource(name, bytes)), isFormatError(name));
    });
  }

  test('the header-length checks happen before anything past the first 8 bytes is read', async () => {
    const src = counting(bufferSource('huge.safetensors', cases['header-over-100mb.safetensors']!));
    await assert.rejects(readSafetensors(src), isFormatError('huge.safetensors'));
    assert.deepEqual(src.reads, [[0, 8]]);
  });

  test('what the reference reader also accepts: __metadata__ null, zero-length tensors sharing an offset', async () => {
    const file = await readSafetensors(bufferSource('ok.safetensors', withHeader(
      `{"__metadata__":null,"e1":${t('F32', [0], [4, 4])},"e2":${t('I8', [3, 0], [4, 4])},"a":${t('F32', [1], [0, 4])},"b":${t('U8', [4], [4, 8])}}`,
      new Uint8Array(8),
    )));
    assert.equal(file.metadata, undefined);
    assert.deepEqual(file.tensors.map((x) => x.name), ['a', 'e1', 'e2', 'b']);
  });
});
