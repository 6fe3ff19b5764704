import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { isEngramError } from '../../src/errors/index.ts';
import { bufferSource, type IngestedFile, readNpz, readTensorFile, writeNpy, writeNpz } from '../../src/formats/index.ts';
import { crc32 } from '../../src/formats/crc32.ts';
import { writeStoredZip } from '../../src/formats/write-stored-zip.ts';
import { readZipDirectory } from '../../src/formats/zip-directory.ts';
import { counting, isFormatError, rebuild, sha } from '../helpers/format-checks.ts';

const DIR = fileURLToPath(new URL('../fixtures/numpy/', import.meta.url));
interface Expected {
  size: number;
  file_sha256: string;
  tensors: { name: string; dtype: string; shape: number[]; sha256: string }[];
}
const EXPECTED = JSON.parse(await readFile(`${DIR}EXPECTED.json`, 'utf8')) as { files: Record<string, Expected> };

const fixture = async (name: string): Promise<Uint8Array> => new Uint8Array(await readFile(DIR + name));




async function checkAgainstExpected(name: string, file: IngestedFile): Promise<void> {
  const want = EXPECTED.files[name]!;
  assert.equal(file.size, want.size);
  const got = await Promise.all(file.tensors.map(async (t) => {
    const data = await t.load();
    assert.equal(data.byteLength, t.byteLength, t.name);
    return { name: t.name, dtype: t.dtype as string, shape: [...t.shape], sha256: sha(data) };
  }));
  const byName = (a: { name: string }, b: { name: string }): number => a.name.localeCompare(b.name);
  assert.deepEqual(got.sort(byName), want.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, sha256: t.sha256 })).sort(byName));
  assert.equal(sha(await rebuild(file)), want.file_sha256);
}

/**
 * Rewrites a stored zip with ZIP64 records everywhere they can be: saturated sizes and offsets in
 * the central directory with a ZIP64 extra field, a ZIP64 end record and its locator.
 */
async function toZip64(zip: Uint8Array): Promise<Uint8Array> {
  const entries = await readZipDirectory(bufferSource('z', zip));
  const cdStart = new DataView(zip.buffer, zip.byteOffset).getUint32(zip.byteLength - 6, true);
  const parts: Uint8Array[] = [zip.subarray(0, cdStart)];
  let cdSize = 0;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const rec = new Uint8Array(46 + name.length + 28);
    const v = new DataView(rec.buffer);
    v.setUint32(0, 0x02014b50, true);
    v.setUint16(4, 0x032d, true);
    v.setUint16(6, 45, true);
    v.setUint16(8, e.flags, true);
    v.setUint16(10, e.method, true);
    v.setUint16(14, 0x21, true);
    v.setUint32(16, e.crc32, true);
    v.setUint32(20, 0xffffffff, true);
    v.setUint32(24, 0xffffffff, true);
    v.setUint16(28, name.length, true);
    v.setUint16(30, 28, true);
    v.setUint32(38, 0x01800000, true);
    v.setUint32(42, 0xffffffff, true);
    rec.set(name, 46);
    const x = 46 + name.length;
    v.setUint16(x, 1, true);
    v.setUint16(x + 2, 24, true);
    v.setBigUint64(x + 4, BigInt(e.uncompressedSize), true);
    v.setBigUint64(x + 12, BigInt(e.compressedSize), true);
    v.setBigUint64(x + 20, BigInt(e.localHeaderOffset), true);
    parts.push(rec);
    cdSize += rec.length;
  }
  const tail = new Uint8Array(56 + 20 + 22);
  const v = new DataView(tail.buffer);
  v.setUint32(0, 0x06064b50, true);
  v.setBigUint64(4, 44n, true);
  v.setUint16(12, 45, true);
  v.setUint16(14, 45, true);
  v.setBigUint64(24, BigInt(entries.length), true);
  v.setBigUint64(32, BigInt(entries.length), true);
  v.setBigUint64(40, BigInt(cdSize), true);
  v.setBigUint64(48, BigInt(cdStart), true);
  v.setUint32(56, 0x07064b50, true);
  v.setBigUint64(64, BigInt(cdStart + cdSize), true);
  v.setUint32(72, 1, true);
  v.setUint32(76, 0x06054b50, true);
  v.setUint16(84, 0xffff, true);
  v.setUint16(86, 0xffff, true);
  v.setUint32(88, 0xffffffff, true);
  v.setUint32(92, 0xffffffff, true);
  parts.push(tail);
  return new Uint8Array(Buffer.concat(parts));
}

/** The offset of the end-of-central-directory record of a zip without a comment. */
const eocdOf = (zip: Uint8Array): number => zip.byteLength - 22;

describe('readNpz on the numpy 1.24 corpus', () => {
  test('stored.npz: every member is a tensor referenced in place, and the file rebuilds exactly', async () => {
    const file = await readNpz(bufferSource('stored.npz', await fixture('stored.npz')));
    assert.equal(file.format, 'npz');
    await checkAgainstExpected('stored.npz', file);
    const tensorSegments = file.segments.filter((s) => s.kind === 'tensor');
    assert.equal(tensorSegments.length, 7);
    assert.deepEqual(tensorSegments.find((s) => s.tensor === 'fortran')!.encoding, { order: 'F' });
    assert.ok(file.literal.byteLength < 2500, `literal is only zip records and npy headers (${file.literal.byteLength} bytes)`);
  });

  test('deflated.npz: tensors are exposed, the deflated members stay literal', async () => {
    const file = await readNpz(bufferSource('deflated.npz', await fixture('deflated.npz')));
    await checkAgainstExpected('deflated.npz', file);
    assert.equal(file.segments.filter((s) => s.kind === 'tensor').length, 0);
    assert.equal(file.literal.byteLength, file.size);
  });

  test('reading stored.npz does not read the arrays', async () => {
    const bytes = await fixture('stored.npz');
    const src = counting(bufferSource('stored.npz', bytes));
    const file = await readNpz(src);
    const weight = file.segments.find((s) => s.kind === 'tensor' && s.tensor === 'weight')!;
    // The weight array is the 8192 bytes after its member's 128-byte npy header.
    const start = (await readZipDirectory(bufferSource('z', bytes)))[0]!.dataOffset + 128;
    assert.equal(weight.length, 8192);
    assert.ok(src.reads.every(([o, l]) => o + l <= start || o >= start + 8192), 'parsing read the weight array');
  });

  test('ZIP64 records (end record, locator, extra fields in the directory) read the same', async () => {
    const zip64 = await toZip64(await fixture('stored.npz'));
    const file = await readNpz(bufferSource('zip64.npz', zip64));
    const plain = await readNpz(bufferSource('stored.npz', await fixture('stored.npz')));
    assert.deepEqual(file.tensors.map((t) => t.name), plain.tensors.map((t) => t.name));
    for (const [i, t] of file.tensors.entries()) assert.deepEqual(await t.load(), await plain.tensors[i]!.load());
    assert.deepEqual(await rebuild(file), zip64);
  });

  test('members that are not .npy are kept as literal bytes', async () => {
    const zip = writeStoredZip([
      { name: 'readme.txt', data: new TextEncoder().encode('hello') },
      { name: 'w.npy', data: writeNpy({ dtype: 'F32', shape: [2], data: new Uint8Array(8).fill(7) }) },
    ]);
    const file = await readNpz(bufferSource('mixed.npz', zip));
    assert.deepEqual(file.tensors.map((t) => t.name), ['w']);
    assert.deepEqual(await rebuild(file), zip);
  });
});

describe('writeNpz', () => {
  test('the zip layout matches what numpy.savez wrote, byte for byte, for the same members', async () => {
    const bytes = await fixture('stored.npz');
    const entries = await readZipDirectory(bufferSource('stored.npz', bytes));
    const members = entries.map((e) => ({ name: e.name, data: bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize) }));
    assert.deepEqual(writeStoredZip(members), bytes);
  });

  test('round trip through readNpz', async () => {
    const plain = await readNpz(bufferSource('stored.npz', await fixture('stored.npz')));
    const members = await Promise.all(plain.tensors.map(async (t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: await t.load() })));
    const written = writeNpz(members);
    const file = await readNpz(bufferSource('written.npz', written));
    assert.deepEqual(file.tensors.map((t) => [t.name, t.dtype, t.shape]), members.map((m) => [m.name, m.dtype, m.shape]));
    for (const [i, t] of file.tensors.entries()) assert.deepEqual(await t.load(), members[i]!.data);
    assert.deepEqual(await rebuild(file), written);
  });

  test('duplicate names are InvalidArgument; BF16 is Unsupported', () => {
    const m = { name: 'a', dtype: 'U8' as const, shape: [1], data: new Uint8Array(1) };
    assert.throws(() => writeNpz([m, m]), (e) => isEngramError(e, 'InvalidArgument'));
    assert.throws(() => writeNpz([{ ...m, dtype: 'BF16', data: new Uint8Array(2) }]), (e) => isEngramError(e, 'Unsupported'));
  });

  test('python can read what writeNpz writes (numpy.load if numpy is installed, else zipfile)', async () => {
    // Python's zipfile is the independent reader here; without python3 this fails loudly rather than skip.
    const python = spawnSync('python3', ['-c', 'import zipfile'], { encoding: 'utf8' });
    assert.equal(python.status, 0, `python3 is needed for this test (apt-get install python3): ${python.error?.message ?? python.stderr}`);
    const dir = await mkdtemp(join(tmpdir(), 'engram-npz-'));
    try {
      const path = join(dir, 'w.npz');
      const data = new Uint8Array(new Float32Array([1.5, -2, 3.25, 0, 1e-3, 7]).buffer);
      await writeFile(path, writeNpz([
        { name: 'w', dtype: 'F32', shape: [2, 3], data },
        { name: 'flags', dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
        { name: 'step', dtype: 'I64', shape: [], data: new Uint8Array([42, 0, 0, 0, 0, 0, 0, 0]) },
      ]));
      const script = [
        'import sys, zipfile',
        'z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(sorted(z.namelist()))',
        'try:',
        '    import numpy as np',
        'except ImportError:',
        '    sys.exit(0)',
        'f = np.load(sys.argv[1]); print(f["w"].tolist(), f["flags"].tolist(), int(f["step"]))',
      ].join('\n');
      const r = spawnSync('python3', ['-c', script, path], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines[0], "['flags.npy', 'step.npy', 'w.npy']");
      if (lines[1] !== undefined) assert.equal(lines[1], '[[1.5, -2.0, 3.25], [0.0, 0.0010000000474974513, 7.0]] [True, False, True] 42');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('readNpz: malformed zips are FormatErrors naming the file', () => {
  test('a central directory pointing outside the file', async () => {
    const bad = (await fixture('stored.npz')).slice();
    const v = new DataView(bad.buffer);
    v.setUint32(eocdOf(bad) + 16, bad.byteLength + 100, true);
    await assert.rejects(readNpz(bufferSource('cd-outside.npz', bad)), isFormatError('cd-outside.npz'));
    const big = (await fixture('stored.npz')).slice();
    new DataView(big.buffer).setUint32(eocdOf(big) + 12, 0xfffffff0, true);
    await assert.rejects(readNpz(bufferSource('cd-too-big.npz', big)), isFormatError('cd-too-big.npz'));
  });

  test('no end-of-central-directory record; too short to be a zip', async () => {
    const bytes = await fixture('stored.npz');
    await assert.rejects(readNpz(bufferSource('cut.npz', bytes.subarray(0, 5000))), isFormatError('cut.npz'));
    await assert.rejects(readNpz(bufferSource('tiny.npz', bytes.subarray(0, 10))), isFormatError('tiny.npz'));
  });

  test('more entries than the directory can hold', async () => {
    const bad = (await fixture('stored.npz')).slice();
    new DataView(bad.buffer).setUint16(eocdOf(bad) + 10, 5000, true);
    await assert.rejects(readNpz(bufferSource('count.npz', bad)), isFormatError('count.npz'));
  });

  test('a local header offset or member size outside the file', async () => {
    const bytes = await fixture('stored.npz');
    const cd = new DataView(bytes.buffer, bytes.byteOffset).getUint32(eocdOf(bytes) + 16, true);
    const offset = bytes.slice();
    new DataView(offset.buffer).setUint32(cd + 42, bytes.byteLength - 10, true);
    await assert.rejects(readNpz(bufferSource('local-outside.npz', offset)), isFormatError('local-outside.npz'));
    const size = bytes.slice();
    new DataView(size.buffer).setUint32(cd + 20, 0x7fffffff, true);
    await assert.rejects(readNpz(bufferSource('size-outside.npz', size)), isFormatError('size-outside.npz'));
    const sig = bytes.slice();
    sig[0] = 0;
    await assert.rejects(readNpz(bufferSource('local-sig.npz', sig)), isFormatError('local-sig.npz'));
  });

  test('a ZIP64 record offset outside the file', async () => {
    const zip64 = await toZip64(await fixture('stored.npz'));
    new DataView(zip64.buffer).setBigUint64(zip64.byteLength - 22 - 20 + 8, 1n << 60n, true);
    await assert.rejects(readNpz(bufferSource('zip64-outside.npz', zip64)), isFormatError('zip64-outside.npz'));
  });

  test('a truncated .npy inside a stored member', async () => {
    const npy = writeNpy({ dtype: 'F32', shape: [8], data: new Uint8Array(32) });
    const zip = writeStoredZip([{ name: 'x.npy', data: npy.subarray(0, npy.byteLength - 4) }]);
    await assert.rejects(readNpz(bufferSource('short-member.npz', zip)), isFormatError('short-member.npz'));
  });

  test('corrupt deflate data, a member inflating past its declared size, a bad CRC', async () => {
    const npy = writeNpy({ dtype: 'F32', shape: [64], data: new Uint8Array(256) });
    const deflated = (body: Uint8Array, declared: number, crc: number): Uint8Array => {
      const zip = writeStoredZip([{ name: 'x.npy', data: body }]);
      const v = new DataView(zip.buffer);
      const cd = v.getUint32(zip.byteLength - 6, true);
      for (const at of [8, cd + 10]) v.setUint16(at, 8, true);
      v.setUint32(cd + 16, crc, true);
      v.setUint32(cd + 24, declared, true);
      return zip;
    };
    const good = new Uint8Array(deflateRawSync(npy));
    const ok = await readNpz(bufferSource('ok.npz', deflated(good, npy.byteLength, crc32(npy))));
    assert.deepEqual(await ok.tensors[0]!.load(), new Uint8Array(256));

    const garbage = new Uint8Array(good.byteLength).fill(0xff);
    await assert.rejects(readNpz(bufferSource('garbage.npz', deflated(garbage, npy.byteLength, 0))), isFormatError('garbage.npz'));
    await assert.rejects(readNpz(bufferSource('bomb.npz', deflated(good, 40, crc32(npy)))), isFormatError('bomb.npz'));
    const badCrc = await readNpz(bufferSource('crc.npz', deflated(good, npy.byteLength, 1234)));
    await assert.rejects(badCrc.tensors[0]!.load(), isFormatError('crc.npz'));
  });

  test('unsupported member dtypes and compression methods fall back to opaque in readTensorFile', async () => {
    // An object array's header: the descr patched in place, same length, so the layout holds.
    const npy = writeNpy({ dtype: 'U8', shape: [1], data: new Uint8Array(1) });
    const at = Buffer.from(npy).indexOf("'|u1'");
    npy.set(new TextEncoder().encode("'|O' "), at);
    const zip = writeStoredZip([{ name: 'o.npy', data: npy }]);
    const file = await readTensorFile(bufferSource('objects.npz', zip));
    assert.equal(file.format, 'opaque');
    assert.deepEqual(file.literal, zip);
    const bzip = writeStoredZip([{ name: 'b.npy', data: writeNpy({ dtype: 'U8', shape: [1], data: new Uint8Array(1) }) }]);
    const v = new DataView(bzip.buffer);
    v.setUint16(v.getUint32(bzip.byteLength - 6, true) + 10, 12, true);
    assert.equal((await readTensorFile(bufferSource('bzip2.npz', bzip))).format, 'opaque');
  });
});
