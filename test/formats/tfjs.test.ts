/**
 * Reads TF.js models (model.json + shards) written by real TensorFlow.js (test/fixtures/tfjs, made by
 * its make-fixtures.ts): every weight as EXPECTED.json lists it, every file rebuilt byte for byte from
 * its layout, shards laid out as ranges of the weights they cut, and what is kept opaque.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isEngramError } from '../../src/errors/index.ts';
import {
  bufferSource, openFileSource, readTensorFile, readTfjsModel, readTfjsShard, type ByteSource, type IngestedFile,
} from '../../src/formats/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { counting, rebuild, sha } from '../helpers/format-checks.ts';

const DIR = fileURLToPath(new URL('../fixtures/tfjs/', import.meta.url));
interface Expected {
  files: string[];
  tensors: { name: string; dtype: string; shape: number[]; sha256: string; group?: string }[];
}
const EXPECTED = JSON.parse(await readFile(join(DIR, 'EXPECTED.json'), 'utf8')) as Record<string, Expected>;

/** Reads `dir/name` through readTensorFile (the dispatcher `engram save` uses), for its layout only: the file is closed after. */
async function read(dir: string, name: string): Promise<{ file: IngestedFile; bytes: Uint8Array }> {
  const src = await openFileSource(join(dir, name));
  try {
    const file = await readTensorFile(src);
    return { file, bytes: new Uint8Array(await readFile(join(dir, name))) };
  } finally {
    await src.close();
  }
}

async function tensorsOf(file: IngestedFile): Promise<{ name: string; dtype: string; shape: number[]; sha256: string }[]> {
  const out = [];
  for (const t of file.tensors) {
    const data = await t.load();
    assert.equal(data.byteLength, t.byteLength, t.name);
    out.push({ name: t.name, dtype: t.dtype as string, shape: [...t.shape], sha256: sha(data) });
  }
  return out;
}

/** Reads with the file open for the whole check (tensors load lazily from it and its siblings). */
async function withFile<T>(path: string, body: (file: IngestedFile, bytes: Uint8Array) => Promise<T>): Promise<T> {
  const src = await openFileSource(path);
  try {
    return await body(await readTensorFile(src), new Uint8Array(await readFile(path)));
  } finally {
    await src.close();
  }
}

describe('TF.js models written by TensorFlow.js', () => {
  for (const [name, want] of Object.entries(EXPECTED)) {
    test(`${name}/model.json lists every weight with its stored dtype, shape and bytes`, async () => {
      await withFile(join(DIR, name, 'model.json'), async (file, bytes) => {
        assert.equal(file.format, 'tfjs');
        assert.equal(file.size, bytes.byteLength);
        assert.deepEqual(await tensorsOf(file), want.tensors.map(({ group: _, ...t }) => t));
        // The JSON itself is literal: it rebuilds without any tensor bytes.
        assert.deepEqual(file.segments, [{ kind: 'literal', offset: 0, length: bytes.byteLength }]);
        assert.deepEqual(await rebuild(file), bytes);
        for (const t of want.tensors.filter((x) => x.group)) {
          assert.equal((JSON.parse(file.metadata![`weight:${t.name}`]!) as { group: string }).group, t.group, t.name);
        }
      });
    });

    test(`${name}: every shard is read as ranges of the weights it holds and rebuilds exactly`, async () => {
      const shards = want.files.filter((f) => f !== 'model.json');
      const covered = new Map<string, number>();
      for (const shard of shards) {
        await withFile(join(DIR, name, shard), async (file, bytes) => {
          assert.equal(file.format, 'tfjs', shard);
          assert.deepEqual(await rebuild(file), bytes, shard);
          const byName = new Map(want.tensors.map((t) => [t.name, t]));
          for (const t of await tensorsOf(file)) {
            const e = byName.get(t.name)!;
            assert.deepEqual(t, { name: e.name, dtype: e.dtype, shape: e.shape, sha256: e.sha256 }, `${shard}: whole weight ${t.name}`);
          }
          for (const s of file.segments) if (s.kind === 'tensor') covered.set(s.tensor, (covered.get(s.tensor) ?? 0) + s.length);
          // Only what no weight covers is literal (nothing, for shards TF.js wrote).
          assert.equal(file.literal.byteLength, 0, shard);
        });
      }
      // Across the shards, every non-empty weight's bytes are covered exactly once.
      for (const t of want.tensors) {
        const src = await openFileSource(join(DIR, name, 'model.json'));
        const model = await readTfjsModel(src);
        await src.close();
        const bytes = model.tensors.find((x) => x.name === t.name)!.byteLength;
        assert.equal(covered.get(t.name) ?? 0, bytes, t.name);
      }
    });
  }

  test('sharded: weights spanning a shard edge are ranges of the whole weight in both shards', async () => {
    const dir = join(DIR, 'sharded');
    const a = await read(dir, 'group1-shard1of5.bin');
    const b = await read(dir, 'group1-shard2of5.bin');
    const lastOfA = a.file.segments.at(-1)!;
    const firstOfB = b.file.segments[0]!;
    assert.equal(lastOfA.kind, 'tensor');
    assert.equal(firstOfB.kind, 'tensor');
    assert.ok(lastOfA.kind === 'tensor' && firstOfB.kind === 'tensor');
    assert.equal(lastOfA.tensor, firstOfB.tensor);
    assert.equal(firstOfB.offset, lastOfA.offset + lastOfA.length, 'shard 2 continues the weight where shard 1 stops');
  });

  test('quantized weights keep their stored uint8/float16 bytes and the quantization as metadata', async () => {
    await withFile(join(DIR, 'quantized', 'model.json'), async (file) => {
      const kernel = file.tensors.find((t) => t.name === 'dense/kernel')!;
      assert.equal(kernel.dtype, 'U8');
      assert.equal(kernel.byteLength, 24);
      const meta = JSON.parse(file.metadata!['weight:dense/kernel']!) as { dtype: string; quantization: { dtype: string; scale: number; min: number } };
      assert.equal(meta.dtype, 'float32');
      assert.equal(meta.quantization.dtype, 'uint8');
      assert.ok(meta.quantization.scale > 0 && meta.quantization.min < 0);
      assert.equal(file.tensors.find((t) => t.name === 'dense/bias')!.dtype, 'F16');
      assert.equal(file.metadata!.convertedBy, 'hand-quantized like tensorflowjs_converter');
    });
  });

  test('reading model.json opens each shard once for its size and reads no weight bytes', async () => {
    const opened: string[] = [];
    const reads: [string, number, number][] = [];
    const dir = join(DIR, 'sharded');
    const src = counting(bufferSource('model.json', new Uint8Array(await readFile(join(dir, 'model.json')))));
    const file = await readTfjsModel(src, {
      openShard: async (p) => {
        opened.push(p);
        const s = bufferSource(p, new Uint8Array(await readFile(join(dir, p))));
        return { ...s, read: (o: number, l: number) => (reads.push([p, o, l]), s.read(o, l)) } satisfies ByteSource;
      },
    });
    assert.deepEqual(opened, EXPECTED.sharded!.files.slice(1));
    assert.deepEqual(reads, []);
    assert.equal(src.requested, src.size);
    assert.equal(file.tensors.length, 13);
  });
});

describe('what stays opaque, and malformed models', () => {
  test('a shard without its model.json, a .json that is not a model, and a model whose shard is missing', async () => {
    const work = await tempDir();
    await cp(join(DIR, 'sharded'), join(work, 'm'), { recursive: true });
    await writeFile(join(work, 'm', 'config.json'), '{"weightsManifest": 3}');
    assert.equal((await read(join(work, 'm'), 'config.json')).file.format, 'opaque');
    await rm(join(work, 'm', 'group1-shard3of5.bin'));
    // The model names a missing shard: kept opaque whole (it still restores byte for byte) …
    assert.equal((await read(join(work, 'm'), 'model.json')).file.format, 'opaque');
    // … and so are the shards it would have placed, since the group no longer lines up.
    assert.equal((await read(join(work, 'm'), 'group1-shard1of5.bin')).file.format, 'opaque');
    const src = await openFileSource(join(work, 'm', 'model.json'));
    await assert.rejects(readTfjsModel(src), (e) => isEngramError(e, 'FormatError') && /unsupported shard "group1-shard3of5.bin" is missing/.test(e.message));
    await src.close();
    await rm(join(work, 'm', 'model.json'));
    assert.equal((await read(join(work, 'm'), 'group1-shard1of5.bin')).file.format, 'opaque');
  });

  test('shards in a subdirectory of their model (paths "weights/…") are placed too', async () => {
    const work = await tempDir();
    const dir = join(work, 'm');
    await mkdir(join(dir, 'weights'), { recursive: true });
    const json = JSON.parse(await readFile(join(DIR, 'sharded', 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
    for (const g of json.weightsManifest) {
      for (const p of g.paths) await cp(join(DIR, 'sharded', p), join(dir, 'weights', p));
      g.paths = g.paths.map((p) => `./weights/${p}`);
    }
    await writeFile(join(dir, 'model.json'), JSON.stringify(json));
    await withFile(join(dir, 'model.json'), async (file) => {
      assert.equal(file.format, 'tfjs');
      assert.deepEqual(await tensorsOf(file), EXPECTED.sharded!.tensors.map(({ group: _, ...t }) => t));
    });
    await withFile(join(dir, 'weights', 'group1-shard2of5.bin'), async (file, bytes) => {
      assert.equal(file.format, 'tfjs');
      assert.equal(file.literal.byteLength, 0);
      assert.deepEqual(await rebuild(file), bytes);
    });
  });

  test('shard paths outside the model directory are never opened', async () => {
    const json = JSON.stringify({ weightsManifest: [{ paths: ['../../etc/passwd'], weights: [{ name: 'w', shape: [1], dtype: 'float32' }] }] });
    const opened: string[] = [];
    const src = bufferSource('model.json', new TextEncoder().encode(json));
    await assert.rejects(readTfjsModel(src, { openShard: async (p) => (opened.push(p), bufferSource(p, new Uint8Array(4))) }),
      (e) => isEngramError(e, 'FormatError') && /outside the model's directory/.test(e.message));
    assert.deepEqual(opened, []);
    assert.equal((await readTensorFile(src)).format, 'opaque');
  });

  test('malformed manifests are FormatErrors naming the file and what is wrong', async () => {
    const shard = bufferSource('s.bin', new Uint8Array(64));
    const cases: [unknown, RegExp][] = [
      [{ weightsManifest: [{ paths: ['s.bin'] }] }, /group 0 is not an object with paths and weights/],
      [{ weightsManifest: [{ paths: ['s.bin'], weights: [{ name: 'w', shape: [-1], dtype: 'float32' }] }] }, /shape that is not a list of non-negative integers/],
      [{ weightsManifest: [{ paths: ['s.bin'], weights: [{ name: 'w', shape: [17], dtype: 'float32' }] }] }, /weights need 68 bytes but the group's 1 shards hold 64/],
      [{ weightsManifest: [{ paths: ['s.bin'], weights: [{ name: 'w', shape: [2 ** 40, 2 ** 40], dtype: 'float32' }] }] }, /too large/],
      [{ weightsManifest: [{ paths: ['s.bin'], weights: [{ name: 'w', shape: [1], dtype: 'float32' }, { name: 'w', shape: [1], dtype: 'int32' }] }] }, /listed twice/],
      [{ weightsManifest: [{ paths: ['s.bin'], weights: [{ name: 'w', shape: [1], dtype: 'float32', quantization: { dtype: 'uint8' } }] }] }, /without scale and min/],
      [{ weightsManifest: [{ paths: ['s.bin'], weights: [{ name: 'w', shape: [1], dtype: 'string' }] }] }, /unsupported weight "w": dtype "string"/],
    ];
    for (const [json, re] of cases) {
      const src = bufferSource('bad/model.json', new TextEncoder().encode(JSON.stringify(json)));
      await assert.rejects(readTfjsModel(src, { openShard: async () => shard }), (e) => {
        assert.ok(isEngramError(e, 'FormatError'), String(e));
        assert.match(e.message, re);
        assert.ok(e.message.includes('bad/model.json'), e.message);
        return true;
      });
    }
  });

  test('a shard finds its model among in-memory siblings (the fuzz path) and reads the same as on disk', async () => {
    const dir = join(DIR, 'sharded');
    const files = new Map<string, Uint8Array>();
    for (const f of EXPECTED.sharded!.files) files.set(f, new Uint8Array(await readFile(join(dir, f))));
    const open = async (p: string): Promise<ByteSource> => bufferSource(p, files.get(p)!);
    const mem = await readTfjsShard(bufferSource('group1-shard3of5.bin', files.get('group1-shard3of5.bin')!), { models: async () => ['model.json'], open });
    assert.ok(mem);
    await withFile(join(dir, 'group1-shard3of5.bin'), async (disk) => {
      assert.deepEqual(mem.segments, disk.segments);
      assert.deepEqual(await tensorsOf(mem), await tensorsOf(disk));
    });
  });
});
