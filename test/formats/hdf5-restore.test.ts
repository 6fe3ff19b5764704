/**
 * HDF5 through the repository and the CLI: `engram save` + `engram restore` give back every .h5
 * byte for byte; a tensor from an .h5 (contiguous or gzip-compressed) and the same tensor from a
 * safetensors file are stored once; `engram export --format h5` and `engram convert x.safetensors
 * y.h5` write Keras weights files that h5py reads with the same values.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { bufferSource, readHdf5, writeHdf5, writeSafetensors } from '../../src/formats/index.ts';
import { fileTensorName, Repository } from '../../src/repo/index.ts';
import { FIXTURES, hashTree, runCli, tempDir } from '../helpers/cli.ts';
import { sha } from '../helpers/format-checks.ts';
import { prng } from '../helpers/fuzz.ts';

const PYTHON = '/usr/bin/python3';

function requireH5py(): void {
  try {
    execFileSync(PYTHON, ['-c', 'import h5py'], { stdio: 'pipe' });
  } catch {
    assert.fail(`this test needs Debian's h5py for ${PYTHON}: apt-get install -y --no-install-recommends python3-h5py`);
  }
}

/** name → [dtype, shape, sha256 of the little-endian C-order elements] of every dataset, as h5py sees it. */
function h5pyTensors(path: string): Record<string, [string, number[], string]> {
  const script = `
import hashlib, json, sys, h5py, numpy as np
out = {}
def visit(name, obj):
    if isinstance(obj, h5py.Dataset):
        a = np.array(obj[()], order='C')
        out[name] = [a.dtype.str, list(a.shape), hashlib.sha256(a.astype(a.dtype.newbyteorder('<')).tobytes()).hexdigest()]
h5py.File(sys.argv[1], 'r').visititems(visit)
print(json.dumps(out))
`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, path], { encoding: 'utf8' })) as Record<string, [string, number[], string]>;
}

test('engram save then restore gives back every .h5 byte for byte, and .h5 tensors dedupe with safetensors ones', async (t) => {
  const work = await tempDir();
  const input = join(work, 'ckpt');
  await cp(join(FIXTURES, 'hdf5'), input, { recursive: true });
  // The corpus's gzip-compressed dense kernel (256 KiB, chunked on its own), as a safetensors file.
  const weights = await readHdf5(bufferSource('w.h5', new Uint8Array(await readFile(join(input, 'keras_weights.h5')))));
  const gz = weights.tensors.find((t) => t.name === 'dense/dense/kernel:0')!;
  const gzData = await gz.load();
  // And a 300 KB contiguous tensor in an engram-written .h5 and in safetensors.
  const rnd = prng(9);
  const big = { name: 'proj/proj/kernel:0', dtype: 'F32' as const, shape: [300, 250], data: new Uint8Array(Float32Array.from({ length: 75_000 }, () => rnd() - 0.5).buffer) };
  await writeFile(join(input, 'written.h5'), await writeHdf5([big]));
  await mkdir(join(input, 'st'));
  await writeFile(join(input, 'st', 'w.safetensors'), writeSafetensors([{ name: 'k', dtype: 'F32', shape: [...gz.shape], data: gzData }, { ...big, name: 'big' }]));

  const repo = join(work, 'repo');
  assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  const save = await runCli(['save', input, '--repo', repo, '--run', 'h5', '--step', '1']);
  assert.equal(save.code, 0, save.stderr);
  const r = await Repository.open(repo);
  try {
    const m = (await r.snapshot('h5@1')).manifest;
    for (const f of m.files) assert.equal(f.format, f.path.endsWith('.h5') ? 'hdf5' : f.path.endsWith('.safetensors') ? 'safetensors' : 'opaque', f.path);
    const chunksOf = (path: string, name: string): string[] => m.tensors[fileTensorName(path, name)]!.chunks.map((c) => c.hash);
    const gzChunks = chunksOf('st/w.safetensors', 'k');
    assert.ok(gzChunks.length > 0);
    // The gzip-chunked kernel is held inside each .h5's literal bytes (stored once, as the file),
    // with the SHA-256 of its values; the contiguous tensors are segments that dedupe.
    for (const [path, name] of [['keras_weights.h5', 'dense/dense/kernel:0'], ['keras_model.h5', 'model_weights/dense/dense/kernel:0']] as const) {
      const entry = m.tensors[fileTensorName(path, name)]!;
      assert.deepEqual(entry.chunks, []);
      assert.deepEqual(entry.inFile, { path, sha256: sha(gzData) });
    }
    assert.equal(m.version, 4);
    assert.deepEqual(chunksOf('written.h5', 'proj/proj/kernel:0'), chunksOf('st/w.safetensors', 'big'));
    const chunkBytes = Object.values(m.chunks).reduce((n, c) => n + c.size, 0);
    // Two copies of each file's literal bytes at most, plus each distinct tensor once: far below
    // what storing the 256 KiB and 300 KB tensors again for each file would take.
    const literal = m.files.reduce((n, f) => n + f.literal.byteLength, 0);
    const tensorBytes = Object.values(m.tensors).reduce((n, x) => n + x.byteLength, 0);
    t.diagnostic(`chunk bytes ${chunkBytes}, literal bytes ${literal}, tensor bytes named ${tensorBytes}`);
    // Each file's literal bytes plus each distinct stored tensor once: the 256 KiB kernel only in
    // the safetensors file, the 300 KB one once for two files (storing them per file would add over 1 MB).
    assert.ok(chunkBytes < literal + 262_144 + 300_000 + 100_000, `${chunkBytes} chunk bytes in all`);
  } finally {
    await r.close();
  }
  const out = join(work, 'restored');
  const restore = await runCli(['restore', 'h5@1', out, '--repo', repo]);
  assert.equal(restore.code, 0, restore.stderr);
  const before = await hashTree(input);
  assert.equal(before.size, 7);
  assert.deepEqual(await hashTree(out), before);
});

test('engram export --format h5 and engram convert x.safetensors y.h5 write files h5py reads with equal values', async () => {
  requireH5py();
  const work = await tempDir();
  const input = join(work, 'ckpt');
  await mkdir(input);
  await cp(join(FIXTURES, 'hdf5', 'keras_weights.h5'), join(input, 'keras_weights.h5'));
  const repo = join(work, 'repo');
  assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  assert.equal((await runCli(['save', input, '--repo', repo, '--run', 'k', '--step', '1'])).code, 0);

  const exported = join(work, 'export.h5');
  const res = await runCli(['export', 'k@1', '--format', 'h5', '--only', 'keras_weights.h5:', '--strip', '-o', exported, '--repo', repo, '--json']);
  assert.equal(res.code, 0, res.stderr);
  assert.equal((JSON.parse(res.stdout) as { tensors: number }).tensors, 10);
  const want = h5pyTensors(join(input, 'keras_weights.h5'));
  assert.deepEqual(h5pyTensors(exported), want);
  // The Keras lists engram wrote are Keras's own (layers with weights, in order).
  const layers = execFileSync(PYTHON, ['-c', "import h5py,sys; print(' '.join(x.decode() for x in h5py.File(sys.argv[1],'r').attrs['layer_names']))", exported], { encoding: 'utf8' });
  assert.equal(layers.trim(), 'conv2d batch_normalization dense dense_1');

  // convert: safetensors → h5 (by extension), and h5 → h5 keeps model_config.
  const st = join(work, 'w.safetensors');
  assert.equal((await runCli(['convert', join(input, 'keras_weights.h5'), st])).code, 0);
  const h5 = join(work, 'w.h5');
  const conv = await runCli(['convert', st, h5, '--json']);
  assert.equal(conv.code, 0, conv.stderr);
  assert.deepEqual(h5pyTensors(h5), want);
  const model = join(work, 'model.h5');
  assert.equal((await runCli(['convert', join(FIXTURES, 'hdf5', 'keras_model.h5'), model])).code, 0);
  const again = await readHdf5(bufferSource('model.h5', new Uint8Array(await readFile(model))));
  const orig = await readHdf5(bufferSource('orig.h5', new Uint8Array(await readFile(join(FIXTURES, 'hdf5', 'keras_model.h5')))));
  assert.equal(again.metadata!.model_config, orig.metadata!.model_config);
  assert.deepEqual(again.tensors.map((t) => t.name), orig.tensors.map((t) => t.name));
  for (const [i, t] of again.tensors.entries()) assert.equal(sha(await t.load()), sha(await orig.tensors[i]!.load()), t.name);

  // A BF16 tensor: refused before anything is written, naming the tensor and a format that can hold it.
  const bf = join(work, 'bf.safetensors');
  await writeFile(bf, writeSafetensors([{ name: 'w.bf', dtype: 'BF16', shape: [2], data: new Uint8Array(4) }]));
  const refused = await runCli(['convert', bf, join(work, 'bf.h5')]);
  assert.equal(refused.code, 8, refused.stderr);
  assert.match(refused.stderr, /"w\.bf".*BF16.*safetensors/s);
});
