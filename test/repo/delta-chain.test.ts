import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { Repository, type SnapshotManifest } from '../../src/repo/index.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { Tensor } from '../../src/tensor/index.ts';
import { CountingStore } from '../helpers/counting-store.ts';
import { gaussian, rng } from '../helpers/weights.ts';

const KiB = 1024;

/** A weight matrix after `steps` small Adam-like updates of a seeded starting point. */
function trained(n: number, steps: number): Float32Array {
  const w = gaussian(n, 42);
  const r = rng(7);
  for (let s = 0; s < steps; s++) for (let i = 0; i < n; i++) w[i]! += (r() - 0.5) * 2e-4;
  return w;
}

function checkpoint(steps: number): Record<string, Tensor> {
  return {
    'model/w': Tensor.fromFloat32(trained(64 * KiB, steps), [256, 256]),
    'model/frozen': Tensor.fromFloat32(gaussian(32 * KiB, 9), [128, 256]),
  };
}

function chainOf(m: SnapshotManifest, hash: string): number[] {
  const depths: number[] = [];
  for (let h: string | undefined = hash; h; h = m.chunks[h]?.base) depths.push(m.chunks[h]?.depth ?? 0);
  return depths;
}

describe('delta chains', () => {
  test('chunks become deltas against the parent, chains stop at maxDepth, and every snapshot restores exactly', async () => {
    const store = new CountingStore(new MemoryStore());
    const repo = await Repository.init('memory://', { store, chunkSize: 64 * KiB, maxDeltaDepth: 3 });
    const saved = [];
    for (let k = 0; k < 9; k++) saved.push(await repo.save({ run: 'r', step: k * 50, tensors: checkpoint(k + 1) }));
    const depths = [];
    for (const s of saved) {
      const m = await repo.manifest(s.id);
      const first = m.tensors['model/w']!.chunks[0]!.hash;
      depths.push(m.chunks[first]!.depth ?? 0);
      // The manifest lists the whole chain down to its keyframe, with depths counting down.
      const chain = chainOf(m, first);
      assert.deepEqual(chain, chain.map((_, i) => chain.length - 1 - i), `chain of ${s.step}: ${chain.join(',')}`);
    }
    assert.deepEqual(depths, [0, 1, 2, 3, 0, 1, 2, 3, 0]);

    const fresh = await Repository.open('memory://', { store: store.inner });
    for (const [k, s] of saved.entries()) {
      const back = await (await fresh.snapshot(s.id)).tensor('model/w');
      assert.ok(Buffer.from(back.data).equals(Buffer.from(checkpoint(k + 1)['model/w']!.data)), `step ${s.step}`);
    }
    const stats = await fresh.stats();
    assert.ok(stats.chunkBytes < stats.logicalBytes * 0.5, `deltas should store far less than raw: ${stats.chunkBytes} of ${stats.logicalBytes}`);
    assert.equal((await fresh.verify()).ok, true);
  });

  test('a first save stores repeated chunks once, within a tensor and across tensors', async () => {
    const store = new CountingStore(new MemoryStore());
    const repo = await Repository.init('memory://', { store, chunkSize: 256 * KiB });
    const block = gaussian(64 * KiB, 5);
    const repeated = new Float32Array(4 * 64 * KiB);
    for (let i = 0; i < 4; i++) repeated.set(block, i * 64 * KiB);
    const snap = await repo.save({
      run: 'dup',
      tensors: { 'a': Tensor.fromFloat32(repeated, [4, 64 * KiB]), 'b': Tensor.fromFloat32(repeated.slice(), [4, 64 * KiB]) },
    });
    const m = await repo.manifest(snap.id);
    const hashes = [...m.tensors['a']!.chunks, ...m.tensors['b']!.chunks].map((r) => r.hash);
    assert.equal(hashes.length, 8);
    assert.equal(new Set(hashes).size, 1, 'eight identical chunks are one object');
    assert.equal(store.puts.filter((k) => k.startsWith('chunks/')).length, 1);
    for (const name of ['a', 'b']) {
      const back = await (await repo.snapshot(snap.id)).tensor(name);
      assert.ok(Buffer.from(back.data).equals(Buffer.from(repeated.buffer)));
    }
  });

  test('maxDeltaDepth 0 stores keyframes only', async () => {
    const repo = await Repository.init('memory://', { store: new MemoryStore(), chunkSize: 64 * KiB, maxDeltaDepth: 0 });
    await repo.save({ run: 'r', tensors: checkpoint(1) });
    const b = await repo.save({ run: 'r', tensors: checkpoint(2) });
    for (const info of Object.values((await repo.manifest(b.id)).chunks)) assert.equal(info.base, undefined);
  });

  test('a tensor marked unchanged reuses the parent chunks without reading its bytes', async () => {
    const store = new CountingStore(new MemoryStore());
    const repo = await Repository.init('memory://', { store, chunkSize: 64 * KiB });
    const a = await repo.save({ run: 'ft', tensors: checkpoint(1) });
    let loads = 0;
    const b = await repo.save({
      run: 'ft',
      tensors: {
        'model/w': Tensor.fromFloat32(trained(64 * KiB, 2), [256, 256]),
        'model/frozen': { dtype: 'F32', shape: [128, 256], unchanged: true, load: async () => (loads++, new Uint8Array(0)) },
      },
    });
    assert.equal(loads, 0);
    const ma = await repo.manifest(a.id);
    const mb = await repo.manifest(b.id);
    assert.deepEqual(mb.tensors['model/frozen'], ma.tensors['model/frozen']);
    const back = await (await repo.snapshot(b.id)).tensor('model/frozen');
    assert.ok(Buffer.from(back.data).equals(Buffer.from(checkpoint(1)['model/frozen']!.data)));
    await assert.rejects(
      repo.save({ run: 'ft', tensors: { 'model/frozen': { dtype: 'F32', shape: [256, 128], unchanged: true } } }),
      (e) => isEngramError(e, 'InvalidArgument') && /parent snapshot/.test(e.message),
    );
    await assert.rejects(
      repo.save({ run: 'new', parent: null, tensors: { 'model/frozen': { dtype: 'F32', shape: [128, 256], unchanged: true } } }),
      (e) => isEngramError(e, 'InvalidArgument'),
    );
  });

  test('a damaged base makes its dependants fail with IntegrityMismatch, never other bytes', async () => {
    const store = new MemoryStore();
    const repo = await Repository.init('memory://', { store, chunkSize: 64 * KiB });
    const a = await repo.save({ run: 'r', tensors: checkpoint(1) });
    const b = await repo.save({ run: 'r', tensors: checkpoint(2) });
    const mb = await repo.manifest(b.id);
    const delta = mb.tensors['model/w']!.chunks[0]!.hash;
    const base = mb.chunks[delta]!.base!;
    assert.equal((await repo.manifest(a.id)).tensors['model/w']!.chunks[0]!.hash, base);
    const key = `chunks/${base.slice(0, 2)}/${base}`;
    const bytes = await store.get(key);
    bytes[bytes.length - 10]! ^= 0x40;
    await store.delete(key);
    await store.put(key, bytes);
    const fresh = await Repository.open('memory://', { store });
    await assert.rejects((await fresh.snapshot(b.id)).tensor('model/w'), (e) => isEngramError(e, 'IntegrityMismatch') && /model\/w/.test(e.message));
    const report = await fresh.verify();
    assert.equal(report.ok, false);
    assert.ok(report.findings.some((f) => f.snapshot === b.id && f.item === 'tensor model/w'), JSON.stringify(report.findings));
  });
});
