import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bufferSource, openFileSource, readTensorFile, writeNpy, writeSafetensors } from '../../src/formats/index.ts';
import { writeStoredZip } from '../../src/formats/write-stored-zip.ts';
import { isFormatError, rebuild, sha } from '../helpers/format-checks.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
interface Expected {
  format?: string;
  size: number;
  file_sha256: string;
  tensors: { name: string; dtype: string; shape: number[]; sha256: string }[];
}
const load = async (dir: string): Promise<Record<string, Expected>> =>
  (JSON.parse(await readFile(`${FIXTURES}${dir}/EXPECTED.json`, 'utf8')) as { files: Record<string, Expected> }).files;
const EXPECTED: Record<string, Record<string, Expected>> = { numpy: await load('numpy'), safetensors: await load('safetensors') };




describe('readTensorFile picks the format and every fixture rebuilds exactly', () => {
  for (const dir of ['numpy', 'safetensors']) {
    test(`${dir}/`, async () => {
      const names = (await readdir(FIXTURES + dir)).sort();
      for (const name of names) {
        const path = `${FIXTURES}${dir}/${name}`;
        const bytes = new Uint8Array(await readFile(path));
        const src = await openFileSource(path, name);
        try {
          const file = await readTensorFile(src);
          const want = EXPECTED[dir]![name];
          const ext = name.slice(name.lastIndexOf('.') + 1);
          assert.equal(file.format, want ? ({ npy: 'npy', npz: 'npz', safetensors: 'safetensors' } as Record<string, string>)[ext] : 'opaque', name);
          assert.equal(file.size, bytes.byteLength);
          if (want) {
            assert.equal(file.tensors.length, want.tensors.length, name);
            const got = new Map(await Promise.all(file.tensors.map(async (t) => [t.name, sha(await t.load())] as const)));
            for (const t of want.tensors) assert.equal(got.get(ext === 'npy' ? '' : t.name), t.sha256, `${name}:${t.name}`);
          } else {
            assert.deepEqual(file.literal, bytes);
          }
          assert.equal(sha(await rebuild(file)), sha(bytes), name);
        } finally {
          await src.close();
        }
      }
    });
  }
});

describe('readTensorFile dispatch', () => {
  const npy = writeNpy({ dtype: 'F32', shape: [2], data: new Uint8Array(8) });

  test('.npy is recognised by its magic whatever the name; .safetensors and .npz by name', async () => {
    assert.equal((await readTensorFile(bufferSource('weights.bin', npy))).format, 'npy');
    const st = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(8) }]);
    assert.equal((await readTensorFile(bufferSource('m.SafeTensors', st))).format, 'safetensors');
    assert.equal((await readTensorFile(bufferSource('m.bin', st))).format, 'opaque');
    const zip = writeStoredZip([{ name: 'w.npy', data: npy }]);
    assert.equal((await readTensorFile(bufferSource('a.npz', zip))).format, 'npz');
    assert.equal((await readTensorFile(bufferSource('a.zip', zip))).format, 'opaque');
    // An empty zip starts with the end record's signature, PK\x05\x06.
    const empty = await readTensorFile(bufferSource('empty.npz', writeStoredZip([])));
    assert.equal(empty.format, 'npz');
    assert.equal(empty.tensors.length, 0);
  });

  test('opaque files: one literal segment holding the whole file; none for an empty file', async () => {
    const text = new TextEncoder().encode('{"lr": 0.001}\n');
    const file = await readTensorFile(bufferSource('config.json', text));
    assert.deepEqual(file, { format: 'opaque', size: text.byteLength, tensors: [], literal: text, segments: [{ kind: 'literal', offset: 0, length: text.byteLength }] });
    const empty = await readTensorFile(bufferSource('empty.txt', new Uint8Array(0)));
    assert.deepEqual(empty.segments, []);
    assert.equal(empty.literal.byteLength, 0);
    const notZip = await readTensorFile(bufferSource('fake.npz', text));
    assert.equal(notZip.format, 'opaque');
  });

  test('unsupported numpy dtypes fall back to opaque; the file still rebuilds', async () => {
    const odd = npy.slice();
    odd.set(new TextEncoder().encode("'<c8'"), Buffer.from(odd).indexOf("'<f4'"));
    const file = await readTensorFile(bufferSource('complex.npy', odd));
    assert.equal(file.format, 'opaque');
    assert.deepEqual(await rebuild(file), odd);
  });

  test('malformed .npy, .npz and .safetensors are FormatErrors, not opaque', async () => {
    await assert.rejects(readTensorFile(bufferSource('cut.npy', npy.subarray(0, 70))), isFormatError('cut.npy'));
    const zip = writeStoredZip([{ name: 'w.npy', data: npy }]);
    const bad = zip.slice();
    new DataView(bad.buffer).setUint32(bad.byteLength - 6, bad.byteLength + 1, true);
    await assert.rejects(readTensorFile(bufferSource('bad.npz', bad)), isFormatError('bad.npz'));
    await assert.rejects(readTensorFile(bufferSource('x.safetensors', new Uint8Array([1, 2, 3]))), isFormatError('x.safetensors'));
    const unknown = new Uint8Array([...new Uint8Array([14, 0, 0, 0, 0, 0, 0, 0]), ...new TextEncoder().encode('{"a":{"dtype":')]);
    await assert.rejects(readTensorFile(bufferSource('y.safetensors', unknown)), isFormatError('y.safetensors'));
  });
});
