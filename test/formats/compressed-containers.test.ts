/**
 * Compressed and partly non-numeric containers, on files PyTables, h5py, scipy and numpy wrote
 * (test/fixtures/compressed/, made by scripts/make-compressed-fixtures.py):
 * - an HDF5 dataset behind a filter engram cannot decode (blosc, lzf) is never a tensor: the file
 *   is kept opaque, restores byte for byte, and asking for the tensor names dataset and filter;
 * - an .npz member that is not a numeric array (scipy.sparse's `format`, a string, float128, a
 *   structured array) stays literal while the numeric members are tensors;
 * - a compressed .npz or gzip-filtered HDF5 is stored once: the repository holds no more than the
 *   file's bytes (plus chunk headers) besides its manifest, and its tensors still load exactly.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { bufferSource, readHdf5, readNpz, readTensorFile } from '../../src/formats/index.ts';
import { decodeFileTensor } from '../../src/formats/index.ts';
import { fileTensorName, Repository } from '../../src/repo/index.ts';
import { FIXTURES, hashTree, runCli, tempDir } from '../helpers/cli.ts';
import { rebuild, sha } from '../helpers/format-checks.ts';

const DIR = join(FIXTURES, 'compressed');

interface Expected {
  readonly size: number;
  readonly sha256: string;
  readonly tensors: readonly { name: string; dtype: string; shape: number[]; sha256: string }[];
  readonly not_tensors: readonly { name: string; filter?: string }[];
}
const EXPECTED = JSON.parse(await readFile(join(DIR, 'EXPECTED.json'), 'utf8')) as Record<string, Expected>;

async function fixture(name: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(await readFile(join(DIR, name)));
  assert.equal(sha(bytes), EXPECTED[name]!.sha256, `${name} differs from EXPECTED.json`);
  return bytes;
}

/** A fresh repository holding `files` (copied into a directory `in/`) saved as run r@1. */
async function savedRepo(files: readonly string[]): Promise<{ work: string; input: string; repo: string }> {
  const work = await tempDir();
  const input = join(work, 'in');
  await mkdir(input);
  for (const f of files) await cp(join(DIR, f), join(input, f));
  const repo = join(work, 'repo');
  assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  const save = await runCli(['save', input, '--repo', repo, '--run', 'r', '--step', '1']);
  assert.equal(save.code, 0, save.stderr);
  return { work, input, repo };
}

describe('HDF5 datasets behind a filter engram cannot decode', () => {
  for (const name of ['blosc_pytables.h5', 'lzf.h5']) {
    test(`${name}: no tensor, the file is opaque and names each dataset and filter`, async () => {
      const bytes = await fixture(name);
      const want = EXPECTED[name]!.not_tensors[0]!;
      await assert.rejects(readHdf5(bufferSource(name, bytes)), (e: unknown) => {
        assert.ok(isEngramError(e, 'FormatError'));
        assert.match(String(e.data.reason), /^unsupported/);
        assert.ok(e.message.includes(JSON.stringify(want.name)) && e.message.includes(want.filter!), e.message);
        return true;
      });
      const file = await readTensorFile(bufferSource(name, bytes));
      assert.equal(file.format, 'opaque');
      assert.deepEqual(file.tensors, []);
      assert.deepEqual(file.literal, bytes);
      assert.equal(file.withheld?.length, 1);
      assert.equal(file.withheld![0]!.name, want.name);
      assert.ok(file.withheld![0]!.reason.includes(want.filter!), file.withheld![0]!.reason);
    });
  }

  test('engram save keeps them exactly; get and convert refuse the dataset, naming it and its filter', async () => {
    const { work, input, repo } = await savedRepo(['blosc_pytables.h5', 'lzf.h5']);
    const r = await Repository.open(repo);
    try {
      const m = (await r.snapshot('r@1')).manifest;
      assert.deepEqual(Object.keys(m.tensors), []);
      assert.deepEqual(m.files.find((f) => f.path === 'blosc_pytables.h5')!.withheld?.map((w) => w.tensor), ['blosc_pytables.h5:kernel']);
    } finally {
      await r.close();
    }
    const out = join(work, 'restored');
    const restore = await runCli(['restore', 'r@1', out, '--repo', repo]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(await hashTree(out), await hashTree(input));

    for (const [tensor, filter] of [['blosc_pytables.h5:kernel', 'blosc (32001)'], ['dense/kernel', 'lzf (32000)']] as const) {
      const get = await runCli(['get', 'r@1', tensor, '-o', join(work, 'x.npy'), '--repo', repo]);
      assert.equal(get.code, 8, get.stderr);
      assert.ok(get.stderr.includes('kernel') && get.stderr.includes(filter), get.stderr);
      assert.doesNotMatch(get.stderr, /\n\s+at /);
    }
    const show = await runCli(['show', 'r@1', '--repo', repo]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /2 tensors kept only as file bytes:\n\s+blosc_pytables\.h5:kernel .*blosc \(32001\)/);
    const convert = await runCli(['convert', join(input, 'blosc_pytables.h5'), join(work, 'x.safetensors')]);
    assert.equal(convert.code, 8, convert.stderr);
    assert.ok(convert.stderr.includes('"kernel"') && convert.stderr.includes('blosc (32001)'), convert.stderr);
  });
});

describe('.npz members that are not numeric arrays', () => {
  for (const name of ['sparse_stored.npz', 'sparse.npz', 'mixed_members.npz']) {
    test(`${name}: the numeric members are tensors, the others literal, and the file rebuilds exactly`, async () => {
      const bytes = await fixture(name);
      const want = EXPECTED[name]!;
      const file = await readTensorFile(bufferSource(name, bytes));
      assert.equal(file.format, 'npz');
      assert.deepEqual(file.tensors.map((t) => t.name).sort(), want.tensors.map((t) => t.name).sort());
      for (const w of want.tensors) {
        const t = file.tensors.find((x) => x.name === w.name)!;
        assert.equal(t.dtype, w.dtype, w.name);
        assert.deepEqual([...t.shape], w.shape, w.name);
        assert.equal(sha(await t.load()), w.sha256, w.name);
      }
      for (const n of want.not_tensors) assert.ok(!file.tensors.some((t) => t.name === n.name), n.name);
      assert.equal(file.withheld, undefined);
      assert.deepEqual(await rebuild(file), bytes);
    });
  }

  test('sparse_stored.npz: the stored members are segments of the file, so they deduplicate', async () => {
    const file = await readNpz(bufferSource('s.npz', await fixture('sparse_stored.npz')));
    const inLayout = new Set(file.segments.flatMap((s) => (s.kind === 'tensor' ? [s.tensor] : [])));
    assert.deepEqual([...inLayout].sort(), ['data', 'indices', 'indptr', 'shape']);
  });
});

describe('compressed containers are stored once', () => {
  for (const name of ['compressed.npz', 'gzip_shuffle.h5']) {
    test(`${name}: stored bytes ≤ the file's size + its manifest; tensors load and export exactly`, async (t) => {
      const { work, input, repo } = await savedRepo([name]);
      const want = EXPECTED[name]!;
      const stats = await runCli(['stats', '--json', '--repo', repo]);
      assert.equal(stats.code, 0, stats.stderr);
      const s = JSON.parse(stats.stdout) as { storedBytes: number; chunkBytes: number; chunks: number };
      // Each chunk object has a small header (≤ 48 bytes) before its payload.
      t.diagnostic(`${name}: file ${want.size} bytes, chunk objects ${s.chunkBytes} bytes in ${s.chunks}, stored in all ${s.storedBytes}`);
      assert.ok(s.chunkBytes <= want.size + 48 * s.chunks, `${s.chunkBytes} chunk bytes for a ${want.size}-byte file`);

      const r = await Repository.open(repo, { fileTensors: decodeFileTensor });
      try {
        const snap = await r.snapshot('r@1');
        const manifestBytes = s.storedBytes - s.chunkBytes;
        assert.ok(s.storedBytes <= want.size + manifestBytes + 48 * s.chunks);
        assert.equal(snap.manifest.version, 4);
        for (const w of want.tensors) {
          const full = fileTensorName(name, w.name);
          assert.equal(snap.tensorInfo(full).inFile?.path, name, full);
          const tensor = await snap.tensor(full);
          assert.equal(tensor.dtype, w.dtype);
          assert.equal(sha(tensor.data), w.sha256, full);
        }
      } finally {
        await r.close();
      }
      // Without a decoder the library says what is missing rather than returning anything.
      const bare = await Repository.open(repo);
      try {
        await assert.rejects((await bare.snapshot('r@1')).tensor(fileTensorName(name, want.tensors[0]!.name)), (e: unknown) => isEngramError(e, 'Unsupported'));
      } finally {
        await bare.close();
      }

      const last = want.tensors.at(-1)!;
      const get = await runCli(['get', 'r@1', fileTensorName(name, last.name), '-o', join(work, 'one.safetensors'), '--repo', repo]);
      assert.equal(get.code, 0, get.stderr);
      const got = await readTensorFile(bufferSource('one.safetensors', new Uint8Array(await readFile(join(work, 'one.safetensors')))));
      assert.equal(sha(await got.tensors[0]!.load()), last.sha256);

      const out = join(work, 'restored');
      const restore = await runCli(['restore', 'r@1', out, '--repo', repo]);
      assert.equal(restore.code, 0, restore.stderr);
      assert.deepEqual(await hashTree(out), await hashTree(input));
    });
  }
});
