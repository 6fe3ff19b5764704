import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  bufferSource, detectPytorch, type IngestedFile, openFileSource, readPytorch, readTensorFile, rebuildFile, writeSafetensors,
} from '../../src/formats/index.ts';
import { writeStoredZip } from '../../src/formats/write-stored-zip.ts';
import { fileTensorName, Repository } from '../../src/repo/index.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { hashTree, runCli, tempDir } from '../helpers/cli.ts';

const TORCH = fileURLToPath(new URL('../fixtures/torch/', import.meta.url));
interface Expected { tensors: { name: string; dtype: string; shape: number[]; sha256: string }[]; values?: { name: string; value: unknown }[] }
const expectedOf = async (dir: string): Promise<Record<string, Expected>> =>
  (JSON.parse(await readFile(`${TORCH}${dir}/EXPECTED.json`, 'utf8')) as { files: Record<string, Expected> }).files;
const CORPUS = await expectedOf('corpus');
const GENERATED = await expectedOf('generated');
const DTYPES: Record<string, string> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function loadAll(file: IngestedFile): Promise<Map<string, Uint8Array>> {
  return new Map(await Promise.all(file.tensors.map(async (t) => [t.name, await t.load()] as const)));
}

async function readFixture(dir: string, name: string): Promise<{ file: IngestedFile; bytes: Uint8Array }> {
  const bytes = new Uint8Array(await readFile(`${TORCH}${dir}/${name}`));
  return { file: await readTensorFile(bufferSource(name, bytes)), bytes };
}

/** Every expected tensor is there with its dtype, shape and the hash of its C-order elements. */
async function checkTensors(name: string, file: IngestedFile, want: Expected): Promise<Map<string, Uint8Array>> {
  const bytes = await loadAll(file);
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  for (const t of want.tensors) {
    const got = byName.get(t.name);
    assert.ok(got, `${name}: no tensor ${JSON.stringify(t.name)} among ${[...byName.keys()].join(', ')}`);
    assert.equal(got.dtype, DTYPES[t.dtype], `${name}:${t.name} dtype`);
    assert.deepEqual([...got.shape], t.shape, `${name}:${t.name} shape`);
    assert.equal(sha(bytes.get(t.name)!), t.sha256, `${name}:${t.name} elements`);
  }
  return bytes;
}

describe('PyTorch checkpoints written by real torch', () => {
  for (const name of Object.keys(CORPUS)) {
    test(`corpus/${name}: exactly the expected tensors, and the file rebuilds byte for byte`, async () => {
      const { file, bytes } = await readFixture('corpus', name);
      assert.equal(file.format, 'pytorch');
      assert.deepEqual(file.tensors.map((t) => t.name), CORPUS[name]!.tensors.map((t) => t.name));
      const loaded = await checkTensors(`corpus/${name}`, file, CORPUS[name]!);
      assert.equal(sha(rebuildFile(file, (n) => loaded.get(n)!)), sha(bytes));
      // Every storage byte is a tensor segment, not a literal: the weights deduplicate.
      const tensorBytes = file.segments.filter((s) => s.kind === 'tensor').reduce((n, s) => n + s.length, 0);
      assert.equal(tensorBytes, file.tensors.reduce((n, t) => n + t.byteLength, 0));
    });
  }

  test('non-tensor state is kept as JSON metadata', async () => {
    const { file } = await readFixture('corpus', 'training_checkpoint.pt');
    const obj = JSON.parse(file.metadata!['pytorch:object']!) as Record<string, unknown>;
    for (const v of CORPUS['training_checkpoint.pt']!.values!) {
      let at: unknown = obj;
      for (const part of v.name.split('.')) at = (at as Record<string, unknown>)[part];
      assert.deepEqual(at, v.value, v.name);
    }
    assert.deepEqual((obj.model as Record<string, unknown>)['conv1.weight'], { $tensor: 'model.conv1.weight' });
    assert.deepEqual(obj.rng_state, { $tensor: 'rng_state' });
  });
});

describe('views, shared storages and other torch objects', () => {
  for (const name of Object.keys(GENERATED)) {
    test(`generated/${name}`, async () => {
      const { file, bytes } = await readFixture('generated', name);
      assert.equal(file.format, 'pytorch');
      // Exactly the checkpoint's tensors, in its order: no extra storage:<key> for views.
      assert.deepEqual(file.tensors.map((t) => t.name), GENERATED[name]!.tensors.map((t) => t.name));
      const loaded = await checkTensors(`generated/${name}`, file, GENERATED[name]!);
      assert.equal(sha(rebuildFile(file, (n) => loaded.get(n)!)), sha(bytes));
    });
  }

  test('the tensors are exactly the checkpoint\'s: no storage:<key> extras; dense views own their bytes, the rest stays literal', async () => {
    const { file } = await readFixture('generated', 'views.pt');
    const names = file.tensors.map((t) => t.name);
    assert.deepEqual(names.filter((n) => n.startsWith('storage:')), []);
    assert.deepEqual(names, GENERATED['views.pt']!.tensors.map((t) => t.name));
    const segs = file.segments.filter((s) => s.kind === 'tensor');
    const owners = segs.map((s) => s.tensor);
    // base owns its storage; transposed (= base.t(), Fortran-dense over the same bytes) overlaps it, so it is gathered.
    assert.ok(owners.includes('base') && owners.includes('tied_a'));
    for (const view of ['transposed', 'row', 'column', 'tied_b', 'every_other', 'expanded']) assert.ok(!owners.includes(view), view);
    // arange(10)[::2] claims nothing: its storage's 20 bytes are literal.
    assert.ok(file.literal.byteLength >= 20);
    const everyOther = new Int16Array((await file.tensors.find((t) => t.name === 'every_other')!.load()).slice().buffer);
    assert.deepEqual([...everyOther], [0, 2, 4, 6, 8]);
    // expand(4, 3) has stride 0: four copies of the 3-element storage.
    const expanded = new Float32Array((await file.tensors.find((t) => t.name === 'expanded')!.load()).slice().buffer);
    assert.deepEqual([...expanded], [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const obj = JSON.parse(file.metadata!['pytorch:object']!) as { state: Record<string, unknown> };
    assert.deepEqual(obj.state, {
      epoch: 7, lr: 0.5, big: { $int: String(2n ** 70n) }, neg: -3, nan: { $float: 'nan' }, name: 'run-a', none: null,
      flags: [true, false], pair: [1, 2.5], blob: { $bytes: Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]).toString('base64') }, ints: { 1: 'one', 2: 'two' },
    });
  });

  test('a checkpoint with a dtype engram lacks (complex64) is kept opaque and still rebuilds', async () => {
    const { file, bytes } = await readFixture('generated', 'complex.pt');
    assert.equal(file.format, 'opaque');
    assert.deepEqual(rebuildFile(file, () => new Uint8Array(0)), bytes);
  });

  test('dispatch is by content: any extension, zip with data.pkl or the legacy magic', async () => {
    const zip = new Uint8Array(await readFile(`${TORCH}corpus/bare_tensor.pt`));
    const legacy = new Uint8Array(await readFile(`${TORCH}corpus/cnn_state_dict_legacy.pt`));
    for (const ext of ['pt', 'pth', 'bin', 'ckpt', 'weird']) {
      assert.equal((await readTensorFile(bufferSource(`m.${ext}`, zip))).format, 'pytorch');
      assert.equal((await readTensorFile(bufferSource(`m.${ext}`, legacy))).format, 'pytorch');
    }
    assert.equal(await detectPytorch(bufferSource('x.zip', writeStoredZip([{ name: 'a/other.pkl', data: new Uint8Array(3) }]))), undefined);
    assert.equal((await readTensorFile(bufferSource('x.pt', writeStoredZip([{ name: 'a/other.pkl', data: new Uint8Array(3) }])))).format, 'opaque');
    assert.equal((await readTensorFile(bufferSource('x.pt', new Uint8Array([0x80, 2, 0x8a])))).format, 'opaque');
  });
});

describe('PyTorch files through the repository', () => {
  test('a tensor from .pt and the same tensor from safetensors share their chunks', async () => {
    const repo = await Repository.init('memory://', { store: new MemoryStore() });
    const { file, bytes } = await readFixture('corpus', 'cnn_state_dict.pt');
    const weight = file.tensors.find((t) => t.name === 'fc.weight')!;
    assert.ok(weight.byteLength >= 64 * 1024, 'large enough not to be bundled');
    const st = writeSafetensors([{ name: 'fc.weight', dtype: weight.dtype, shape: weight.shape, data: await weight.load() }]);
    const stFile = await readTensorFile(bufferSource('w.safetensors', st));
    const snap = await repo.save({
      run: 'dedup',
      files: [
        { path: 'cnn.pt', format: file.format, size: file.size, sha256: sha(bytes), literal: file.literal, segments: file.segments, tensors: file.tensors },
        { path: 'w.safetensors', format: stFile.format, size: st.byteLength, sha256: sha(st), literal: stFile.literal, segments: stFile.segments, tensors: stFile.tensors },
      ],
    });
    const m = await repo.manifest(snap.id);
    const a = m.tensors[fileTensorName('cnn.pt', 'fc.weight')]!.chunks.map((c) => c.hash);
    const b = m.tensors[fileTensorName('w.safetensors', 'fc.weight')]!.chunks.map((c) => c.hash);
    assert.ok(a.length > 0);
    assert.deepEqual(a, b);
    await repo.close();
  });

  test('engram save + restore gives back every torch file byte for byte', async () => {
    const work = await tempDir();
    const input = join(work, 'ckpt');
    await cp(join(TORCH, 'corpus'), input, { recursive: true });
    for (const name of Object.keys(GENERATED)) await cp(join(TORCH, 'generated', name), join(input, 'generated', name));
    const repo = join(work, 'repo');
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    const save = await runCli(['save', input, '--repo', repo, '--run', 'torch', '--step', '1', '--json']);
    assert.equal(save.code, 0, save.stderr);
    const saved = JSON.parse(save.stdout) as { tensors: number };
    assert.ok(saved.tensors >= 123, `only ${saved.tensors} tensors`);
    const out = join(work, 'restored');
    const restore = await runCli(['restore', 'torch@1', out, '--repo', repo]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(await hashTree(out), await hashTree(input));
    assert.ok((await readdir(join(out, 'generated'))).length >= 4);
  });

  test('engram save refuses a hostile checkpoint with exit status 7 and writes no snapshot', async () => {
    const work = await tempDir();
    const repo = join(work, 'repo');
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    const save = await runCli(['save', join(TORCH, 'generated', 'deep_popen.pt'), '--repo', repo, '--run', 'evil']);
    assert.equal(save.code, 7, save.stderr);
    assert.match(save.stderr, /subprocess\.Popen/);
    assert.deepEqual(await readdir(join(repo, 'snapshots')).catch(() => []), []);
  });

  test('readPytorch reads the legacy and zip forms of one state dict into the same tensors', async () => {
    const read = async (n: string) => {
      const src = await openFileSource(`${TORCH}corpus/${n}`);
      try {
        const f = await readPytorch(src);
        return new Map([...(await loadAll(f))].map(([k, v]) => [k, sha(v)]));
      } finally {
        await src.close();
      }
    };
    assert.deepEqual(await read('cnn_state_dict_legacy.pt'), await read('cnn_state_dict.pt'));
  });
});
