/**
 * The Repository on every backend: memory, and S3 against the real Ceph RGW (test/helpers/s3-test-store.ts;
 * these fail, never skip, when no S3 server is configured).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { MemoryStore, type ObjectStore } from '../../src/store/index.ts';
import { Tensor } from '../../src/tensor/index.ts';
import { CountingStore } from '../helpers/counting-store.ts';
import { s3StoreTracker } from '../helpers/s3-test-store.ts';
import { bf16Tensor, f32Tensor } from '../helpers/weights.ts';

const KiB = 1024;

/** A backend the suite runs on: `fresh()` makes a new empty store. */
interface Backend {
  readonly name: string;
  fresh(): Promise<ObjectStore>;
}

const s3 = s3StoreTracker();
after(() => s3.cleanup());
const BACKENDS: readonly Backend[] = [
  { name: 'memory', fresh: async () => new MemoryStore() },
  { name: 's3', fresh: () => s3.fresh('repository') },
];

async function newRepoOn(backend: Backend, options: { chunkSize?: number } = {}): Promise<{ repo: Repository; store: CountingStore }> {
  const store = new CountingStore(await backend.fresh());
  const repo = await Repository.init('memory://', { store, ...options });
  return { repo, store };
}

function model(seed: number): Record<string, Tensor> {
  return {
    'model/embed': f32Tensor([256, 256], seed), // 256 KiB: chunked at 64 KiB below
    'model/dense/kernel': f32Tensor([128, 64], seed + 1), // 32 KiB: bundled
    'model/dense/bias': f32Tensor([64], seed + 2),
    'model/half': bf16Tensor([100, 50], seed + 3),
    'model/empty': new Tensor('F32', [0, 3], new Uint8Array(0)),
    'optimizer/step': new Tensor('I64', [], new Uint8Array(8).fill(7)),
  };
}

for (const backend of BACKENDS) describe(`Repository (${backend.name})`, () => {
  const newRepo = (options: { chunkSize?: number } = {}): Promise<{ repo: Repository; store: CountingStore }> => newRepoOn(backend, options);
  test('init refuses an existing repository; open finds none where there is none', async () => {
    const { repo, store } = await newRepo();
    await assert.rejects(Repository.init('memory://', { store }), (e) => isEngramError(e, 'Conflict'));
    await assert.rejects(Repository.open('memory://', { store: await backend.fresh() }), (e) => isEngramError(e, 'NotFound') && /engram init/.test(e.message));
    assert.equal((await Repository.open('memory://', { store })).config.chunkSize, repo.config.chunkSize);
  });

  test('save then restore gives back every tensor, blob, metric and metadata exactly', async () => {
    const { repo } = await newRepo({ chunkSize: 64 * KiB });
    const tensors = model(1);
    const blob = new TextEncoder().encode('{"epoch": 3}');
    const snap = await repo.save({ run: 'r1', step: 10, tensors, blobs: { data: blob }, metrics: { loss: 0.5 }, meta: { note: 'hi' }, message: 'first' });
    assert.equal(snap.step, 10);
    assert.equal(snap.parent, null);
    const again = await repo.snapshot('r1@10');
    assert.equal(again.id, snap.id);
    assert.deepEqual(again.metrics, { loss: 0.5 });
    assert.deepEqual(again.meta, { note: 'hi' });
    assert.equal(again.message, 'first');
    for (const [name, t] of Object.entries(tensors)) {
      const got = await again.tensor(name);
      assert.equal(got.dtype, t.dtype, name);
      assert.deepEqual(got.shape, t.shape, name);
      assert.deepEqual(Buffer.from(got.data), Buffer.from(t.data), name);
    }
    assert.deepEqual(await again.blob('data'), blob);
    assert.equal(repo.config.chunkSize, 64 * KiB);
    assert.equal(again.tensorInfo('model/embed').chunks.length, 4);
  });

  test('loading one tensor reads only its chunks', async () => {
    const { repo, store } = await newRepo({ chunkSize: 64 * KiB });
    const snap = await repo.save({ run: 'r1', step: 1, tensors: model(2) });
    const reopened = await Repository.open('memory://', { store });
    const s = await reopened.snapshot(snap.id);
    store.gets.length = 0;
    await s.tensor('model/embed');
    const chunkGets = store.gets.filter((k) => k.startsWith('chunks/'));
    const want = new Set(s.tensorInfo('model/embed').chunks.map((c) => c.hash));
    assert.equal(chunkGets.length, want.size);
    for (const k of chunkGets) assert.ok(want.has(k.slice(k.lastIndexOf('/') + 1)));
  });

  test('restores into a caller-provided buffer', async () => {
    const { repo } = await newRepo();
    const t = f32Tensor([1000], 5);
    const snap = await repo.save({ run: 'r', step: 0, tensors: { w: t } });
    const into = new Uint8Array(4000);
    const got = await snap.tensor('w', { into });
    assert.equal(got.data, into);
    assert.deepEqual(Buffer.from(into), Buffer.from(t.data));
    await assert.rejects(snap.tensor('w', { into: new Uint8Array(3) }), (e) => isEngramError(e, 'InvalidArgument'));
  });

  test('lineage, default steps and the ref syntax', async () => {
    const { repo } = await newRepo();
    const a = await repo.save({ run: 'r', tensors: model(1), metrics: { loss: 0.9, acc: 0.5 } });
    const b = await repo.save({ run: 'r', tensors: model(2), metrics: { loss: 0.4, acc: 0.7 } });
    const c = await repo.save({ run: 'r', tensors: model(3), metrics: { loss: 0.6, acc: 0.8 } });
    assert.deepEqual([a.step, b.step, c.step], [0, 1, 2]);
    assert.equal(b.parent, a.id);
    assert.equal(c.parent, b.id);
    assert.equal(await repo.resolve('r@latest'), c.id);
    assert.equal(await repo.resolve('r@latest~1'), b.id);
    assert.equal(await repo.resolve('r@latest~2'), a.id);
    assert.equal(await repo.resolve('r@best:loss'), b.id);
    assert.equal(await repo.resolve('r@best:acc'), c.id);
    assert.equal(await repo.resolve('r@best:min:acc'), a.id);
    assert.equal(await repo.resolve(c.id.slice(0, 12)), c.id);
    await assert.rejects(repo.resolve('r@latest~3'), (e) => isEngramError(e, 'NotFound'));
    await assert.rejects(repo.resolve('r@7'), (e) => isEngramError(e, 'NotFound'));
    await assert.rejects(repo.resolve('nope@latest'), (e) => isEngramError(e, 'NotFound'));
    await assert.rejects(repo.resolve('r@x'), (e) => isEngramError(e, 'InvalidArgument'));
    const other = await repo.save({ run: 'ft', parent: 'r@best:loss', tensors: model(4) });
    assert.equal(other.parent, b.id);
    assert.deepEqual((await repo.log('ft')).map((s) => s.id), [other.id]);
    assert.deepEqual(await repo.runs(), ['ft', 'r']);
  });

  test('tags move by appending events, and the history is kept', async () => {
    const { repo } = await newRepo();
    const a = await repo.save({ run: 'r', tensors: model(1), tags: ['best'] });
    const b = await repo.save({ run: 'r', tensors: model(2) });
    assert.equal(await repo.resolve('tag:best'), a.id);
    await repo.tag('best', b.id, 'better');
    assert.equal(await repo.resolve('best'), b.id);
    await repo.tag('best', 'r@0', 'rollback');
    assert.equal(await repo.resolve('tag:best'), a.id);
    const history = await repo.tagHistory('best');
    assert.deepEqual(history.map((e) => e.target), [a.id, b.id, a.id]);
    assert.deepEqual(history.map((e) => e.previous), [null, a.id, b.id]);
    assert.equal(history[2]!.message, 'rollback');
    assert.deepEqual(Object.fromEntries(await repo.tags()), { best: a.id });
    await assert.rejects(repo.tag('bad/name', a.id), (e) => isEngramError(e, 'InvalidArgument'));
    await assert.rejects(repo.tag('x', 'missing@1'), (e) => isEngramError(e, 'NotFound'));
  });

  test('saving the same tensors again stores only a manifest', async () => {
    const { repo } = await newRepo({ chunkSize: 64 * KiB });
    await repo.save({ run: 'r', tensors: model(1) });
    const before = await repo.stats();
    await repo.save({ run: 'r', tensors: model(1) });
    const after = await repo.stats();
    assert.equal(after.chunks, before.chunks);
    assert.ok(after.storedBytes - before.storedBytes < 0.02 * before.storedBytes, `grew ${after.storedBytes - before.storedBytes}`);
    assert.equal(after.logicalBytes, 2 * before.logicalBytes);
    assert.ok(after.dedupRatio > 1.9);
    assert.equal(after.orphanChunks, 0);
    const report = await repo.verify();
    assert.equal(report.chunks, after.chunks);
    assert.equal(report.bytes, after.uniqueBytes, 'verify must count every chunk it checked');
  });

  test('a corrupted chunk is an IntegrityMismatch naming tensor and chunk, and verify reports it', async () => {
    const inner = await backend.fresh();
    const repo = await Repository.init('memory://', { store: inner, chunkSize: 64 * KiB });
    const snap = await repo.save({ run: 'r', step: 1, tensors: model(1) });
    assert.equal((await repo.verify()).ok, true);
    const victim = snap.tensorInfo('model/embed').chunks[2]!.hash;
    const key = `chunks/${victim.slice(0, 2)}/${victim}`;
    const bytes = await inner.get(key);
    bytes[bytes.length - 5] ^= 0x01;
    await inner.put(key, bytes);
    const fresh = await Repository.open('memory://', { store: inner });
    const s = await fresh.snapshot(snap.id);
    await assert.rejects(s.tensor('model/embed'), (e) => isEngramError(e, 'IntegrityMismatch') && e.message.includes('model/embed') && e.message.includes(victim));
    assert.equal((await s.tensor('model/dense/bias')).byteLength, 256);
    const report = await fresh.verify();
    assert.equal(report.ok, false);
    assert.ok(report.findings.some((f) => f.kind === 'corrupt-chunk' && f.item === 'tensor model/embed' && f.chunk === victim));
  });

  test('a missing chunk and a damaged manifest are findings', async () => {
    const inner = await backend.fresh();
    const repo = await Repository.init('memory://', { store: inner });
    const a = await repo.save({ run: 'r', tensors: { w: f32Tensor([70000], 1) } });
    const b = await repo.save({ run: 'r', tensors: { v: f32Tensor([70000], 2) } });
    const h = a.tensorInfo('w').chunks[0]!.hash;
    await inner.delete(`chunks/${h.slice(0, 2)}/${h}`);
    const m = await inner.get(`snapshots/${b.id}.json`);
    m[40] = m[40] === 0x41 ? 0x42 : 0x41;
    await inner.put(`snapshots/${b.id}.json`, m);
    const report = await (await Repository.open('memory://', { store: inner })).verify();
    assert.equal(report.ok, false);
    assert.ok(report.findings.some((f) => f.kind === 'missing-chunk' && f.item === 'tensor w'));
    assert.ok(report.findings.some((f) => f.kind === 'damaged-manifest' && f.snapshot === b.id));
  });

  test('files come back byte for byte from their layout', async () => {
    const { repo } = await newRepo();
    const w = f32Tensor([4, 4], 9);
    const header = new TextEncoder().encode('HEADER--');
    const file = new Uint8Array([...header, ...w.data, 1, 2, 3]);
    const { createHash } = await import('node:crypto');
    const snap = await repo.save({
      run: 'r',
      files: [{
        path: 'dir/m.bin', format: 'test', size: file.byteLength, sha256: createHash('sha256').update(file).digest('hex'),
        literal: new Uint8Array([...header, 1, 2, 3]),
        segments: [{ kind: 'literal', offset: 0, length: 8 }, { kind: 'tensor', tensor: 'w', offset: 0, length: 64 }, { kind: 'literal', offset: 8, length: 3 }],
        tensors: [{ name: 'w', dtype: 'F32', shape: [4, 4], byteLength: 64, load: async () => w.data }],
      }],
    });
    assert.deepEqual(snap.tensorNames(), ['dir/m.bin:w']);
    assert.deepEqual(Buffer.from((await snap.tensor('w')).data), Buffer.from(w.data));
    const pieces: Uint8Array[] = [];
    for await (const p of snap.readFile('dir/m.bin')) pieces.push(p);
    assert.deepEqual(Buffer.concat(pieces), Buffer.from(file));
  });

  test('bad input is refused before anything is committed', async () => {
    const { repo } = await newRepo();
    await assert.rejects(repo.save({ run: 'bad run', tensors: model(1) }), (e) => isEngramError(e, 'InvalidArgument'));
    await assert.rejects(repo.save({ run: 'r', step: -1, tensors: model(1) }), (e) => isEngramError(e, 'InvalidArgument'));
    await assert.rejects(repo.save({ run: 'r', tensors: model(1), tags: ['no/slash'] }), (e) => isEngramError(e, 'InvalidArgument'));
    assert.deepEqual(await repo.snapshotIds(), []);
  });
});
