import assert from 'node:assert/strict';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { checkWritable, decodeFileTensor, openFileSource, readTensorFile, writeSafetensors } from '../../src/formats/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { FIXTURES, runCli, tempDir } from '../helpers/cli.ts';

const UNSUPPORTED = 8;

/** Every tensor of a file, by name, with its bytes loaded. */
async function tensorsOf(path: string): Promise<Map<string, { dtype: string; shape: readonly number[]; data: Uint8Array }>> {
  const src = await openFileSource(path);
  try {
    const file = await readTensorFile(src);
    const out = new Map<string, { dtype: string; shape: readonly number[]; data: Uint8Array }>();
    for (const t of file.tensors) out.set(t.name, { dtype: t.dtype, shape: t.shape, data: await t.load() });
    return out;
  } finally {
    await src.close();
  }
}

describe('engram export and convert', () => {
  let work: string;
  let repo: string;

  before(async () => {
    work = await tempDir();
    repo = join(work, 'repo');
    const input = join(work, 'ckpt');
    await cp(join(FIXTURES, 'numpy'), join(input, 'numpy'), { recursive: true });
    await cp(join(FIXTURES, 'safetensors'), join(input, 'safetensors'), { recursive: true });
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    const save = await runCli(['save', input, '--repo', repo, '--run', 'fx', '--step', '1']);
    assert.equal(save.code, 0, save.stderr);
  });

  /** Asserts that `path` holds exactly the snapshot tensors whose name starts with `prefix`. */
  async function assertSameAsSnapshot(path: string, prefix: string): Promise<void> {
    const got = await tensorsOf(path);
    // Deflated .npz members are held inside their file: decoded from it, as the CLI does.
    const r = await Repository.open(repo, { fileTensors: decodeFileTensor });
    try {
      const snap = await r.snapshot('fx@1');
      const names = snap.tensorNames().filter((n) => n.startsWith(prefix));
      assert.ok(names.length > 0);
      assert.deepEqual([...got.keys()].sort(), [...names].sort());
      for (const name of names) {
        const want = await snap.tensor(name);
        const t = got.get(name)!;
        assert.equal(t.dtype, want.dtype, name);
        assert.deepEqual([...t.shape], [...want.shape], name);
        assert.ok(Buffer.from(t.data).equals(Buffer.from(want.data)), `bytes of ${name}`);
      }
    } finally {
      await r.close();
    }
  }

  test('export to safetensors holds every tensor of the snapshot, byte for byte', async () => {
    const out = join(work, 'all.safetensors');
    const res = await runCli(['export', 'fx@1', '--format', 'safetensors', '-o', out, '--repo', repo, '--json']);
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout) as { path: string; format: string; tensors: number; bytes: number };
    assert.deepEqual(Object.keys(report).sort(), ['bytes', 'format', 'path', 'tensors']);
    assert.equal(report.path, out);
    assert.equal(report.format, 'safetensors');
    assert.ok(report.tensors > 20);
    assert.ok(report.bytes > 0);
    await assertSameAsSnapshot(out, '');
  });

  test('export to npz keeps names with / and :, and --only selects by prefix', async () => {
    const out = join(work, 'numpy.npz');
    const res = await runCli(['export', 'fx@1', '--format', 'npz', '--only', 'numpy/', '-o', out, '--repo', repo, '--json']);
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout) as { tensors: number };
    await assertSameAsSnapshot(out, 'numpy/');
    assert.equal(report.tensors, (await tensorsOf(out)).size);
    assert.ok([...(await tensorsOf(out)).keys()].some((n) => n.includes(':')));
  });

  test('export of a BF16 tensor to npz fails with Unsupported, names it and leaves no file', async () => {
    const dir = await tempDir();
    const out = join(dir, 'bf16.npz');
    const res = await runCli(['export', 'fx@1', '--format', 'npz', '-o', out, '--repo', repo]);
    assert.equal(res.code, UNSUPPORTED, res.stderr);
    assert.match(res.stderr, /Unsupported/);
    assert.match(res.stderr, /dtypes\.safetensors:bf16/);
    assert.match(res.stderr, /BF16/);
    assert.match(res.stderr, /safetensors instead/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('export to ONNX without a template model is InvalidArgument naming --template, and writes nothing', async () => {
    const dir = await tempDir();
    const res = await runCli(['export', 'fx@1', '--format', 'onnx', '-o', join(dir, 'm.onnx'), '--repo', repo]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /give --template MODEL\.onnx/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('convert to gguf round-trips GGUF-representable dtypes, BF16 included', async () => {
    const dir = await tempDir();
    const src = join(dir, 'dense.safetensors');
    const data = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);
    await writeFile(src, writeSafetensors([
      { name: 'blk.0.w', dtype: 'F32', shape: [2, 3], data: data(24) },
      { name: 'blk.0.h', dtype: 'BF16', shape: [4], data: data(8) },
      { name: 'ids', dtype: 'I32', shape: [3], data: data(12) },
    ]));
    const out = join(dir, 'dense.gguf');
    const res = await runCli(['convert', src, out, '--json']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(await tensorsOf(out), await tensorsOf(src));
  });

  test('convert a PyTorch checkpoint to safetensors and back to npz keeps every tensor', async () => {
    const dir = await tempDir();
    const pt = join(FIXTURES, 'torch', 'corpus', 'cnn_state_dict.pt');
    const st = join(dir, 'cnn.safetensors');
    const res = await runCli(['convert', pt, st, '--json']);
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout) as { path: string; format: string; tensors: number; bytes: number };
    assert.equal(report.format, 'safetensors');
    const want = await tensorsOf(pt);
    assert.ok(want.size > 1);
    assert.equal(report.tensors, want.size);
    assert.deepEqual(await tensorsOf(st), want);
    const npz = join(dir, 'cnn.data');
    const back = await runCli(['convert', st, npz, '--format', 'npz']);
    assert.equal(back.code, 0, back.stderr);
    await cp(npz, join(dir, 'cnn.npz'));
    assert.deepEqual(await tensorsOf(join(dir, 'cnn.npz')), want);
  });

  test('convert a GGUF with quantized tensors to safetensors fails with Unsupported and writes nothing', async () => {
    const dir = await tempDir();
    const res = await runCli(['convert', join(FIXTURES, 'gguf', 'quantized.gguf'), join(dir, 'q.safetensors')]);
    assert.equal(res.code, UNSUPPORTED, res.stderr);
    assert.match(res.stderr, /opaque:Q4_0/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('convert keeps the exit code of a malformed input', async () => {
    const dir = await tempDir();
    const bad = join(dir, 'bad.safetensors');
    await writeFile(bad, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x7b]));
    const res = await runCli(['convert', bad, join(dir, 'out.npz')]);
    assert.equal(res.code, 4, res.stderr);
    assert.deepEqual(await readdir(dir), ['bad.safetensors']);
  });

  test('convert a C-order .npy to .npy gives back the same bytes; .npy takes one tensor only', async () => {
    const dir = await tempDir();
    const src = join(FIXTURES, 'numpy', 'f32_C.npy');
    const out = join(dir, 'copy.npy');
    const res = await runCli(['convert', src, out]);
    assert.equal(res.code, 0, res.stderr);
    assert.ok((await readFile(out)).equals(await readFile(src)));
    const two = await runCli(['convert', join(FIXTURES, 'numpy', 'stored.npz'), join(dir, 'two.npy')]);
    assert.equal(two.code, UNSUPPORTED);
    assert.match(two.stderr, /exactly one tensor/);
  });

  test('convert refuses a pickle that asks to run code, with UnsafePickle\'s exit code', async () => {
    const dir = await tempDir();
    const res = await runCli(['convert', join(FIXTURES, 'torch', 'generated', 'deep_popen.pt'), join(dir, 'x.safetensors')]);
    assert.equal(res.code, 7, res.stderr);
    assert.match(res.stderr, /UnsafePickle/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('export --only with no match is NotFound', async () => {
    const res = await runCli(['export', 'fx@1', '--format', 'npz', '--only', 'nope/', '-o', join(work, 'none.npz'), '--repo', repo]);
    assert.equal(res.code, 3, res.stderr);
  });

  test('checkWritable names the first tensor a format cannot hold and a format that can', () => {
    const f8 = checkWritable('npz', [{ name: 'a', dtype: 'F32' }, { name: 'q', dtype: 'F8_E4M3' }]);
    assert.equal(f8?.code, 'Unsupported');
    assert.deepEqual(f8?.data, { format: 'npz', tensor: 'q', dtype: 'F8_E4M3', suggest: 'safetensors' });
    assert.equal(checkWritable('gguf', [{ name: 'm', dtype: 'U8' }])?.data.suggest, 'safetensors');
    const opaque = checkWritable('gguf', [{ name: 'blk', dtype: 'opaque:Q4_K' }]);
    assert.equal(opaque?.data.tensor, 'blk');
    assert.equal(opaque?.data.suggest, undefined);
    assert.equal(checkWritable('safetensors', [{ name: 'h', dtype: 'BF16' }]), undefined);
    assert.equal(checkWritable('gguf', [{ name: 'h', dtype: 'BF16' }]), undefined);
  });
});
