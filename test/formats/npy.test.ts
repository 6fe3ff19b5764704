import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isEngramError } from '../../src/errors/index.ts';
import { bufferSource, readNpy, readTensorFile, writeNpy } from '../../src/formats/index.ts';
import { parsePythonLiteral, PyLiteralError } from '../../src/formats/python-literal.ts';
import { byteswap, reorderFortran } from '../../src/tensor/index.ts';
import { counting, isFormatError, rebuild, sha } from '../helpers/format-checks.ts';
import { npyBytes } from '../helpers/npy-bytes.ts';

const DIR = fileURLToPath(new URL('../fixtures/numpy/', import.meta.url));
interface Expected {
  size: number;
  file_sha256: string;
  tensors: { name: string; dtype: string; shape: number[]; sha256: string; fortran_order: boolean }[];
}
const EXPECTED = JSON.parse(await readFile(`${DIR}EXPECTED.json`, 'utf8')) as { files: Record<string, Expected> };
const NPY = Object.keys(EXPECTED.files).filter((f) => f.endsWith('.npy'));

const fixture = async (name: string): Promise<Uint8Array> => new Uint8Array(await readFile(DIR + name));

describe('readNpy on the numpy 1.24 corpus', () => {
  for (const name of NPY) {
    test(name, async () => {
      const bytes = await fixture(name);
      const want = EXPECTED.files[name]!;
      assert.equal(sha(bytes), want.file_sha256);
      const file = await readNpy(bufferSource(name, bytes));
      assert.equal(file.format, 'npy');
      assert.equal(file.size, want.size);
      assert.equal(file.tensors.length, 1);
      const t = file.tensors[0]!;
      const e = want.tensors[0]!;
      // A bare .npy holds one unnamed tensor (the corpus names it after the file).
      assert.equal(t.name, '');
      assert.equal(t.dtype, e.dtype);
      assert.deepEqual(t.shape, e.shape);
      const data = await t.load();
      assert.equal(data.byteLength, t.byteLength);
      assert.equal(sha(data), e.sha256);
      assert.equal(sha(await rebuild(file)), want.file_sha256);

      const tensorSegments = file.segments.filter((s) => s.kind === 'tensor');
      assert.equal(tensorSegments.length, t.byteLength > 0 ? 1 : 0, 'empty tensors get no segment');
      if (e.fortran_order && e.shape.length > 1) assert.deepEqual(tensorSegments[0]!.encoding, { order: 'F' });
      else if (tensorSegments[0]) assert.equal(tensorSegments[0].encoding, undefined);
      const literalBytes = file.segments.filter((s) => s.kind === 'literal').reduce((n, s) => n + s.length, 0);
      assert.equal(literalBytes, file.literal.byteLength);
      assert.equal(literalBytes + t.byteLength, file.size);
    });
  }

  test('reading describes the tensor without reading its data; load() reads it', async () => {
    const bytes = await fixture('i64_C.npy');
    const src = counting(bufferSource('i64_C.npy', bytes));
    const file = await readNpy(src);
    assert.ok(src.reads.every(([o, l]) => o + l <= 128), `read data while parsing: ${JSON.stringify(src.reads)}`);
    src.reads.length = 0;
    await file.tensors[0]!.load();
    assert.deepEqual(src.reads, [[128, 480]]);
  });

  test('Fortran order and C order of the same array load the same canonical bytes', async () => {
    for (const kind of ['f32', 'f16', 'i64', 'bool']) {
      const c = await readNpy(bufferSource('c', await fixture(`${kind}_C.npy`)));
      const f = await readNpy(bufferSource('f', await fixture(`${kind}_F.npy`)));
      assert.deepEqual(await f.tensors[0]!.load(), await c.tensors[0]!.load(), kind);
    }
  });
});

describe('writeNpy', () => {
  test('reproduces every C-order corpus file byte for byte', async () => {
    for (const name of ['f32_C.npy', 'f16_C.npy', 'i64_C.npy', 'bool_C.npy', 'u8_1d.npy', 'f32_empty.npy', 'f64_scalar_0d.npy']) {
      const bytes = await fixture(name);
      const t = (await readNpy(bufferSource(name, bytes))).tensors[0]!;
      assert.deepEqual(writeNpy({ dtype: t.dtype, shape: t.shape, data: await t.load() }), bytes, name);
    }
  });

  test('writes a Fortran-order file as the C-order file numpy would write', async () => {
    const t = (await readNpy(bufferSource('f32_F.npy', await fixture('f32_F.npy')))).tensors[0]!;
    assert.deepEqual(writeNpy({ dtype: t.dtype, shape: t.shape, data: await t.load() }), await fixture('f32_C.npy'));
  });

  test('header forms: 1-d, 0-d, multi-digit first axis, and the one-byte dtypes', () => {
    const text = (b: Uint8Array): string => new TextDecoder().decode(b.subarray(10, 10 + new DataView(b.buffer).getUint16(8, true)));
    const h1 = text(writeNpy({ dtype: 'I8', shape: [3], data: new Uint8Array(3) }));
    assert.ok(h1.startsWith("{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }"), h1);
    const h2 = text(writeNpy({ dtype: 'U16', shape: [1000, 2], data: new Uint8Array(4000) }));
    assert.ok(h2.startsWith("{'descr': '<u2', 'fortran_order': False, 'shape': (1000, 2), }"), h2);
    for (const [dtype, shape] of [['F64', []], ['U8', [7]], ['I32', [123456, 0]], ['BOOL', [2, 2, 2]]] as const) {
      const out = writeNpy({ dtype, shape, data: new Uint8Array(shape.reduce((a: number, b: number) => a * b, 1) * (dtype === 'F64' ? 8 : dtype === 'I32' ? 4 : 1)) });
      const hlen = new DataView(out.buffer).getUint16(8, true);
      assert.equal((10 + hlen) % 64, 0, `${dtype}: data is 64-byte aligned`);
      assert.equal(out[10 + hlen - 1], 0x0a);
    }
  });

  test('round trip through readNpy for every numpy dtype', async () => {
    for (const dtype of ['F64', 'F32', 'F16', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL'] as const) {
      const width = { F64: 8, I64: 8, U64: 8, F32: 4, I32: 4, U32: 4, F16: 2, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1 }[dtype];
      const data = Uint8Array.from({ length: 6 * width }, (_, i) => (dtype === 'BOOL' ? i & 1 : (i * 37) & 0xff));
      const file = await readNpy(bufferSource('x.npy', writeNpy({ dtype, shape: [2, 3], data })));
      assert.equal(file.tensors[0]!.dtype, dtype);
      assert.deepEqual(await file.tensors[0]!.load(), data);
    }
  });

  test('BF16 and opaque dtypes are Unsupported (numpy has no such type); wrong lengths are InvalidArgument', () => {
    assert.throws(() => writeNpy({ dtype: 'BF16', shape: [2], data: new Uint8Array(4) }), (e) => {
      assert.ok(isEngramError(e, 'Unsupported'));
      assert.match(e.message, /safetensors/);
      return true;
    });
    assert.throws(() => writeNpy({ dtype: 'opaque:Q4_K', shape: [2], data: new Uint8Array(2) }), (e) => isEngramError(e, 'Unsupported'));
    assert.throws(() => writeNpy({ dtype: 'F32', shape: [2], data: new Uint8Array(7) }), (e) => isEngramError(e, 'InvalidArgument'));
  });
});

describe('readNpy: byte order, versions and unsupported dtypes', () => {
  const canonical = Uint8Array.from({ length: 24 * 2 }, (_, i) => (i * 13 + 5) & 0xff);

  test('a big-endian array is one tensor segment encoded big; load() gives little-endian', async () => {
    const bytes = npyBytes("{'descr': '>i2', 'fortran_order': False, 'shape': (4, 6), }", byteswap(canonical, 2));
    const file = await readNpy(bufferSource('be.npy', bytes));
    const t = file.tensors[0]!;
    assert.equal(t.dtype, 'I16');
    assert.deepEqual(await t.load(), canonical);
    assert.deepEqual(file.segments.find((s) => s.kind === 'tensor')!.encoding, { byteOrder: 'big' });
    assert.deepEqual(await rebuild(file), bytes);
  });

  test('big-endian and Fortran order together', async () => {
    const shape = [2, 3, 4];
    const stored = byteswap(reorderFortran(canonical, shape, 2, false), 2);
    const bytes = npyBytes("{'descr': '>u2', 'fortran_order': True, 'shape': (2, 3, 4), }", stored);
    const file = await readNpy(bufferSource('bef.npy', bytes));
    assert.deepEqual(await file.tensors[0]!.load(), canonical);
    assert.deepEqual(file.segments.find((s) => s.kind === 'tensor')!.encoding, { order: 'F', byteOrder: 'big' });
    assert.deepEqual(await rebuild(file), bytes);
  });

  test("'=' and '|' read as little-endian; '>' on a one-byte type changes nothing", async () => {
    for (const descr of ['=i2', '|i2']) {
      const file = await readNpy(bufferSource('n.npy', npyBytes(`{'descr': '${descr}', 'fortran_order': False, 'shape': (24,), }`, canonical)));
      assert.deepEqual(await file.tensors[0]!.load(), canonical);
      assert.equal(file.segments.find((s) => s.kind === 'tensor')!.encoding, undefined);
    }
    const file = await readNpy(bufferSource('u.npy', npyBytes("{'descr': '>u1', 'fortran_order': False, 'shape': (48,), }", canonical)));
    assert.equal(file.segments.find((s) => s.kind === 'tensor')!.encoding, undefined);
  });

  test('format versions 2.0 and 3.0 (4-byte header length; 3.0 is UTF-8)', async () => {
    for (const version of [2, 3]) {
      const bytes = npyBytes("{'descr': '<i2', 'fortran_order': False, 'shape': (2, 12), }", canonical, version);
      const file = await readNpy(bufferSource('v.npy', bytes));
      assert.deepEqual(file.tensors[0]!.shape, [2, 12]);
      assert.deepEqual(await rebuild(file), bytes);
    }
  });

  test('extra bytes after the array are kept as a trailing literal', async () => {
    const good = await fixture('u8_1d.npy');
    const bytes = new Uint8Array([...good, 1, 2, 3]);
    const file = await readNpy(bufferSource('x.npy', bytes));
    assert.deepEqual(file.segments.at(-1), { kind: 'literal', offset: file.literal.byteLength - 3, length: 3 });
    assert.deepEqual(await rebuild(file), bytes);
  });

  test('object, string, complex, datetime and structured dtypes are FormatErrors starting "unsupported"', async () => {
    for (const descr of ["'|O'", "'<U3'", "'<c8'", "'<M8[ns]'", "'|V8'", "'<f16'", "[('a', '<f4'), ('b', '<i4')]"]) {
      const bytes = npyBytes(`{'descr': ${descr}, 'fortran_order': False, 'shape': (2,), }`, new Uint8Array(64));
      await assert.rejects(readNpy(bufferSource('odd.npy', bytes)), (e) => {
        assert.ok(isEngramError(e, 'FormatError'), String(e));
        assert.match(String(e.data.reason), /^unsupported/, descr);
        return true;
      });
      const opaque = await readTensorFile(bufferSource('odd.npy', bytes));
      assert.equal(opaque.format, 'opaque', descr);
    }
  });
});

describe('readNpy: malformed files are FormatErrors naming the file', () => {
  test('truncated data', async () => {
    const good = await fixture('f32_C.npy');
    await assert.rejects(readNpy(bufferSource('short-data.npy', good.subarray(0, 200))), isFormatError('short-data.npy'));
  });

  test('header length past the end of the file', async () => {
    const good = await fixture('f32_C.npy');
    await assert.rejects(readNpy(bufferSource('cut-header.npy', good.subarray(0, 70))), isFormatError('cut-header.npy'));
    await assert.rejects(readNpy(bufferSource('tiny.npy', good.subarray(0, 9))), isFormatError('tiny.npy'));
    await assert.rejects(readNpy(bufferSource('empty.npy', new Uint8Array(0))), isFormatError('empty.npy'));
  });

  test('bad magic and unknown versions', async () => {
    const good = await fixture('f32_C.npy');
    const magic = good.slice();
    magic[1] = 0x4f;
    await assert.rejects(readNpy(bufferSource('magic.npy', magic)), isFormatError('magic.npy'));
    const version = good.slice();
    version[6] = 9;
    await assert.rejects(readNpy(bufferSource('version.npy', version)), isFormatError('version.npy'));
  });

  test('bad headers', async () => {
    const data = new Uint8Array(12);
    const headers = [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,) ",
      "{'descr': '<f4', 'fortran_order': False}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}",
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': [3], }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3.0,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
      "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
      "__import__('os').system('echo pwned')",
      `{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(5000)}${')'.repeat(5000)}, }`,
      "[1, 2, 3]",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } trailing",
    ];
    for (const h of headers) {
      await assert.rejects(readNpy(bufferSource('bad-header.npy', npyBytes(h, data))), isFormatError('bad-header.npy'), h.slice(0, 80));
    }
  });

  test('a shape whose byte length is astronomically large is truncated data, not an overflow', async () => {
    const bytes = npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (9007199254740991, 9007199254740991), }", new Uint8Array(8));
    await assert.rejects(readNpy(bufferSource('huge.npy', bytes)), isFormatError('huge.npy'));
  });
});

describe('parsePythonLiteral', () => {
  test('parses the values .npy headers use and nothing more', () => {
    assert.deepEqual(parsePythonLiteral("(3,)"), { kind: 'tuple', items: [{ kind: 'int', value: 3n }] });
    assert.deepEqual(parsePythonLiteral("()"), { kind: 'tuple', items: [] });
    assert.deepEqual(parsePythonLiteral("(3)"), { kind: 'int', value: 3n });
    assert.deepEqual(parsePythonLiteral("(3L, 4L)"), { kind: 'tuple', items: [{ kind: 'int', value: 3n }, { kind: 'int', value: 4n }] });
    assert.deepEqual(parsePythonLiteral(" 'a\\'b\\x41' "), { kind: 'str', value: "a'bA" });
    assert.deepEqual(parsePythonLiteral('"x"'), { kind: 'str', value: 'x' });
    assert.deepEqual(parsePythonLiteral('None'), { kind: 'none' });
    assert.throws(() => parsePythonLiteral('Truex'), PyLiteralError);
    assert.throws(() => parsePythonLiteral('open("f")'), PyLiteralError);
    assert.throws(() => parsePythonLiteral("{1: 2}"), PyLiteralError);
    assert.throws(() => parsePythonLiteral("'unterminated"), PyLiteralError);
  });
});
