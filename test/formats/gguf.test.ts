import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isEngramError } from '../../src/errors/index.ts';
import {
  bufferSource, type GgufKv, openFileSource, readGguf, readTensorFile, writeGguf,
} from '../../src/formats/index.ts';
import { cat, header, info, str, u32, u64, u8, withData } from './gguf-bytes.ts';
import { counting, rebuild, sha } from '../helpers/format-checks.ts';

const DIR = fileURLToPath(new URL('../fixtures/gguf/', import.meta.url));
interface Expected {
  size: number;
  file_sha256: string;
  alignment: number;
  metadata: GgufKv[];
  tensors: { name: string; type: string; shape: number[]; dtype: string; dtype_shape: number[]; sha256: string }[];
}
const EXPECTED = JSON.parse(await readFile(`${DIR}EXPECTED.json`, 'utf8')) as { files: Record<string, Expected> };

const fixture = async (name: string): Promise<Uint8Array> => new Uint8Array(await readFile(DIR + name));



/** Asserts that reading `bytes` fails with a FormatError whose reason matches `re`. */
async function refuses(bytes: Uint8Array, re: RegExp): Promise<void> {
  await assert.rejects(readGguf(bufferSource('bad.gguf', bytes)), (e: unknown) => {
    assert.ok(isEngramError(e, 'FormatError'), `expected FormatError, got ${String(e)}`);
    assert.ok(e.message.includes('bad.gguf'), e.message);
    assert.equal(typeof e.data.offset, 'number');
    assert.match(String(e.data.reason), re);
    return true;
  });
}

const kvU32 = (key: string, v: number): Uint8Array => cat(str(key), u32(4), u32(v));
const f32 = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);

describe('readGguf on the fixtures', () => {
  for (const [name, want] of Object.entries(EXPECTED.files)) {
    test(name, async () => {
      const bytes = await fixture(name);
      assert.equal(bytes.length, want.size);
      assert.equal(sha(bytes), want.file_sha256);
      const src = counting(bufferSource(name, bytes));
      const file = await readGguf(src);
      // The header pass requests each byte at most once, then the literal ranges.
      assert.ok(src.requested <= 2 * bytes.length, `requested ${src.requested} of ${bytes.length}`);
      assert.equal(file.format, 'gguf');
      assert.equal(file.gguf.version, 3);
      assert.equal(file.gguf.alignment, want.alignment);
      assert.deepEqual(file.gguf.metadata, want.metadata);
      assert.deepEqual(file.tensors.map((t) => [t.name, t.dtype, t.shape]), want.tensors.map((t) => [t.name, t.dtype, t.dtype_shape]));
      assert.deepEqual(file.gguf.tensors.map((t) => [t.name, t.type, t.shape]), want.tensors.map((t) => [t.name, t.type, t.shape]));
      for (const [i, t] of file.tensors.entries()) assert.equal(sha(await t.load()), want.tensors[i]!.sha256, t.name);
      assert.deepEqual(await rebuild(file), bytes);
    });
  }

  test('metadata for display: scalars as text, arrays summarised', async () => {
    const file = await readGguf(bufferSource('m', await fixture('metadata.gguf')));
    assert.equal(file.metadata?.['general.architecture'], 'llama');
    assert.equal(file.metadata?.['test.uint64'], '18446744073709551615');
    assert.equal(file.metadata?.['tokenizer.ggml.tokens'], '[STRING × 5]');
  });

  test('a header larger than the read window, from a file on disk', async () => {
    // ~300 KB of metadata: the reader refills its 64 KiB window many times, strings straddling it.
    const metadata: GgufKv[] = [
      { key: 'tokenizer.ggml.tokens', type: 'ARRAY', value: { itemType: 'STRING', items: Array.from({ length: 20_000 }, (_, i) => `tok-${'x'.repeat(i % 13)}${i}`) } },
      { key: 'tokenizer.ggml.scores', type: 'ARRAY', value: { itemType: 'FLOAT32', items: Array.from({ length: 20_000 }, (_, i) => i / 4) } },
      { key: 'long', type: 'STRING', value: 'é'.repeat(70_000) },
    ];
    const tensors = [{ name: 'w', type: 'Q8_0', shape: [2, 64], data: new Uint8Array(4 * 34).map((_, i) => i) }];
    const bytes = writeGguf({ metadata, tensors });
    const path = join(await mkdtemp(join(tmpdir(), 'engram-gguf-')), 'big.gguf');
    await writeFile(path, bytes);
    const src = counting(await openFileSource(path));
    try {
      const file = await readGguf(src);
      // The header pass requests each byte at most once, then the literal ranges.
      assert.ok(src.requested <= 2 * bytes.length, `requested ${src.requested} of ${bytes.length}`);
      assert.deepEqual(file.gguf.metadata, metadata);
      assert.deepEqual(await file.tensors[0]!.load(), tensors[0]!.data);
      assert.deepEqual(await rebuild(file), bytes);
    } finally {
      await src.close();
    }
  });

  test('readTensorFile picks GGUF by its magic, whatever the name', async () => {
    const file = await readTensorFile(bufferSource('model.bin', await fixture('quantized.gguf')));
    assert.equal(file.format, 'gguf');
    assert.deepEqual(file.tensors.map((t) => t.dtype), ['opaque:Q4_0', 'F32', 'opaque:Q8_0', 'opaque:Q8_0']);
  });
});

describe('writeGguf', () => {
  for (const [name, want] of Object.entries(EXPECTED.files)) {
    test(`rebuilds ${name} byte for byte from its content`, async () => {
      const bytes = await fixture(name);
      const file = await readGguf(bufferSource(name, bytes));
      const tensors = await Promise.all(file.gguf.tensors.map(async (t, i) => ({
        name: t.name, type: t.type, shape: t.shape, data: await file.tensors[i]!.load(),
      })));
      // The metadata as the Python script wrote it (not as our reader saw it) must give the same bytes.
      assert.deepEqual(writeGguf({ metadata: want.metadata, tensors }), bytes);
    });
  }

  test('alignment option: appends general.alignment and pads to it', async () => {
    const out = writeGguf({ tensors: [{ name: 'a', type: 'F32', shape: [4], data: f32 }, { name: 'b', type: 'F32', shape: [2, 2], data: f32 }], alignment: 128 });
    const file = await readGguf(bufferSource('x', out));
    assert.equal(file.gguf.alignment, 128);
    assert.deepEqual(file.gguf.metadata, [{ key: 'general.alignment', type: 'UINT32', value: 128 }]);
    assert.equal(file.gguf.dataOffset % 128, 0);
    assert.deepEqual(file.gguf.tensors.map((t) => t.offset), [0, 128]);
    assert.equal(out.length % 128, 0);
    assert.deepEqual(await file.tensors[1]!.load(), f32);
    assert.deepEqual(file.tensors[1]!.shape, [2, 2]);
  });

  test('non-finite floats and 64-bit integers round-trip as strings', async () => {
    const metadata: GgufKv[] = [
      { key: 'a', type: 'FLOAT32', value: 'NaN' }, { key: 'b', type: 'FLOAT64', value: '-Infinity' },
      { key: 'c', type: 'INT64', value: '-9007199254740993' }, { key: 'd', type: 'ARRAY', value: { itemType: 'FLOAT32', items: ['Infinity', 1] } },
    ];
    assert.deepEqual((await readGguf(bufferSource('x', writeGguf({ metadata })))).gguf.metadata, metadata);
  });

  const refusesToWrite = (what: string, input: Parameters<typeof writeGguf>[0]): void => {
    test(`refuses ${what}`, () => {
      assert.throws(() => writeGguf(input), (e: unknown) => isEngramError(e, 'InvalidArgument'));
    });
  };
  refusesToWrite('an unknown ggml type', { tensors: [{ name: 'a', type: 'Q9_9', shape: [4], data: f32 }] });
  refusesToWrite('data of the wrong length', { tensors: [{ name: 'a', type: 'F32', shape: [5], data: f32 }] });
  refusesToWrite('a row that is not whole blocks', { tensors: [{ name: 'a', type: 'Q4_0', shape: [16], data: new Uint8Array(9) }] });
  refusesToWrite('five dimensions', { tensors: [{ name: 'a', type: 'F32', shape: [1, 1, 1, 1, 4], data: f32 }] });
  refusesToWrite('repeated tensor names', { tensors: [{ name: 'a', type: 'F32', shape: [4], data: f32 }, { name: 'a', type: 'F32', shape: [4], data: f32 }] });
  refusesToWrite('repeated keys', { metadata: [{ key: 'k', type: 'BOOL', value: true }, { key: 'k', type: 'BOOL', value: false }] });
  refusesToWrite('a value out of range', { metadata: [{ key: 'k', type: 'UINT8', value: 256 }] });
  refusesToWrite('a value of the wrong type', { metadata: [{ key: 'k', type: 'STRING', value: 3 }] });
  refusesToWrite('a UINT64 that is negative', { metadata: [{ key: 'k', type: 'UINT64', value: '-1' }] });
  refusesToWrite('an alignment that is not a power of two', { alignment: 48 });
  refusesToWrite('an alignment that disagrees with general.alignment', { metadata: [{ key: 'general.alignment', type: 'UINT32', value: 64 }], alignment: 32 });
});

describe('readGguf refuses malformed files with file, offset and reason', () => {
  const ok = withData(header([kvU32('general.alignment', 32)], [info('w', [4], 0, 0)]), f32);

  test('a well-formed hand-built file reads', async () => {
    const file = await readGguf(bufferSource('ok.gguf', ok));
    assert.deepEqual(await file.tensors[0]!.load(), f32);
  });
  test('bad magic', () => refuses(cat(u8(0x48), ok.subarray(1)), /magic/));
  test('truncated header', () => refuses(ok.subarray(0, 20), /runs past the end/));
  test('a key length past the end', () => refuses(header([cat(u64(1n << 40n), u32(4), new Uint8Array(8))], []), /runs past the end/));
  test('a huge metadata count', () => refuses(header([], []).fill(0xff, 16, 24), /cannot fit/));
  test('a huge tensor count', () => refuses(header([], []).fill(0xff, 8, 16), /cannot fit/));
  test('an array longer than the file', () => refuses(header([cat(str('a'), u32(9), u32(5), u64(1n << 61n))], []), /runs past the end/));
  test('an unknown value type', () => refuses(header([cat(str('a'), u32(13), u32(0))], []), /not a GGUF value type/));
  test('a boolean that is not 0 or 1', () => refuses(header([cat(str('a'), u32(7), u8(2))], []), /neither 0 nor 1/));
  test('a repeated key', () => refuses(header([kvU32('a', 1), kvU32('a', 2)], []), /repeated/));
  test('invalid UTF-8 in a key', () => refuses(header([cat(u64(1), u8(0xff), u32(4), u32(0))], []), /UTF-8/));
  test('general.alignment not a power of two', () => refuses(header([kvU32('general.alignment', 48)], []), /power of two/));
  test('general.alignment of zero', () => refuses(header([kvU32('general.alignment', 0)], []), /power of two/));
  test('general.alignment of the wrong type', () => refuses(header([cat(str('general.alignment'), u32(5), u32(32))], []), /not UINT32/));
  test('arrays nested too deep', () => {
    let v = cat(u32(0), u64(0));
    for (let i = 0; i < 20; i++) v = cat(u32(9), u64(1), v);
    return refuses(header([cat(str('deep'), u32(9), v)], []), /deeper/);
  });
  test('five dimensions', () => refuses(withData(header([], [info('w', [1, 1, 1, 1, 4], 0, 0)]), f32), /dimensions/));
  test('dimensions whose product overflows', () => refuses(withData(header([], [info('w', [1n << 32n, 1n << 32n, 1n << 32n], 0, 0)]), f32), /too many elements|past/));
  test('a dimension of 2^64-1 with another of zero', () => refuses(withData(header([], [info('w', [0, (1n << 64n) - 1n], 0, 0)]), f32), /too many elements/));
  test('a tensor past the end of the data section', () => refuses(withData(header([], [info('w', [5], 0, 0)]), f32), /runs past/));
  test('an offset past the end', () => refuses(withData(header([], [info('w', [4], 0, 1n << 62n)]), f32), /runs past/));
  test('a misaligned offset', () => refuses(withData(header([], [info('w', [1], 0, 4)]), f32), /alignment/));
  test('overlapping tensors', () => refuses(withData(header([], [info('a', [4], 0, 0), info('b', [2], 0, 0)]), f32), /overlap/));
  test('a repeated tensor name', () => refuses(withData(header([], [info('a', [1], 0, 0), info('a', [1], 0, 32)]), f32), /repeated/));
  test('a quantized row that is not whole blocks', () => refuses(withData(header([], [info('q', [16, 2], 2, 0)]), new Uint8Array(36)), /block/));

  test('an unknown ggml type is unsupported, and readTensorFile keeps the file opaque', async () => {
    const bytes = withData(header([], [info('w', [4], 99, 0)]), f32);
    await refuses(bytes, /^unsupported ggml type 99/);
    const file = await readTensorFile(bufferSource('x.gguf', bytes));
    assert.equal(file.format, 'opaque');
    assert.equal(file.literal.length, bytes.length);
  });
  test('version 1 and big-endian files are unsupported', async () => {
    await refuses(header([], [], 1), /^unsupported GGUF version 1/);
    await refuses(header([], [], 0x03000000), /^unsupported big-endian/);
  });
  test('version 2 reads', async () => {
    assert.equal((await readGguf(bufferSource('v2', header([], [], 2)))).gguf.version, 2);
  });

  test('holes between tensors and trailing bytes are kept as literal', async () => {
    const data = cat(f32, new Uint8Array(16).fill(7), new Uint8Array(32).fill(9), f32, u8(1), u8(2));
    const bytes = withData(header([], [info('late', [4], 0, 64), info('early', [2, 2], 0, 0)]), data);
    const file = await readGguf(bufferSource('holes.gguf', bytes));
    assert.deepEqual(file.tensors.map((t) => [t.name, t.shape]), [['late', [4]], ['early', [2, 2]]]);
    assert.deepEqual(await rebuild(file), bytes);
  });
});
