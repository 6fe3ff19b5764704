/**
 * The base a new chunk is a delta against (repo/delta-base.ts): in a new repository chains stop at
 * depth 2 — once a chunk's chain is full, the next checkpoint is a delta against the chain's first
 * delta — and a keyframe follows once that delta stops paying. Read from the manifests' ChunkInfo.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { Repository, type SnapshotManifest } from '../../src/repo/index.ts';
import { defaultConfig, KEYFRAME_WHEN_SAVING_BELOW, validateConfig } from '../../src/repo/config.ts';
import { chooseDeltaBase } from '../../src/repo/delta-base.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { Tensor } from '../../src/tensor/index.ts';
import { gaussian, rng } from '../helpers/weights.ts';

const KiB = 1024;
const N = 64 * KiB;

/**
 * Checkpoint `k` of weights that drift: each element moves by its own velocity every checkpoint (as
 * under momentum) plus noise, so a delta against an older checkpoint grows with the distance.
 */
function drifting(k: number): Float32Array {
  const w = gaussian(N, 42);
  const v = gaussian(N, 43, 2e-4);
  const r = rng(100 + k);
  for (let i = 0; i < N; i++) w[i]! += k * v[i]! + (r() - 0.5) * 1e-5;
  return w;
}

const tensors = (k: number): Record<string, Tensor> => ({ 'model/w': Tensor.fromFloat32(drifting(k), [256, 256]) });

/** Chunk i of `model/w` in a manifest, with its ChunkInfo. */
function chunkAt(m: SnapshotManifest, i: number): { hash: string; depth: number; base?: string; stored: number } {
  const hash = m.tensors['model/w']!.chunks[i]!.hash;
  const info = m.chunks[hash]!;
  return { hash, depth: info.depth ?? 0, base: info.base, stored: info.stored };
}

async function saveSequence(repo: Repository, count: number): Promise<SnapshotManifest[]> {
  const out: SnapshotManifest[] = [];
  for (let k = 0; k < count; k++) out.push(await repo.manifest((await repo.save({ run: 'r', step: k * 50, tensors: tensors(k) })).id));
  return out;
}

describe('delta bases', () => {
  test('a new repository stores every delta at depth ≤ 2: once a chain is full, the next one is a delta against the chain\'s first delta', async () => {
    const repo = await Repository.init('memory://', { store: new MemoryStore(), chunkSize: 16 * KiB });
    assert.deepEqual(repo.config.delta, { maxDepth: 2, keyframe: 'stops-paying' });
    const ms = await saveSequence(repo, 5);
    for (let i = 0; i < 4; i++) {
      const [c0, c1, c2, c3, c4] = ms.map((m) => chunkAt(m, i));
      assert.deepEqual([c0!.depth, c1!.depth, c2!.depth, c3!.depth, c4!.depth], [0, 1, 2, 2, 2], `chunk ${i}`);
      assert.equal(c1!.base, c0!.hash);
      // Checkpoints 3 and 4 skip their parent: their base is checkpoint 1's chunk, the first delta.
      for (const c of [c2, c3, c4]) assert.equal(c!.base, c1!.hash, `chunk ${i}`);
      // Each manifest lists its chunks' whole chains, so GC keeps them without reading objects.
      assert.deepEqual(ms[4]!.chunks[c1!.hash], { size: 16 * KiB, stored: c1!.stored, base: c0!.hash, depth: 1 });
      assert.equal(ms[4]!.chunks[c0!.hash]!.depth ?? 0, 0);
    }
    for (const [k, m] of ms.entries()) {
      const back = await (await repo.snapshot(m.id)).tensor('model/w');
      assert.ok(Buffer.from(back.data).equals(Buffer.from(drifting(k).buffer)), `checkpoint ${k}`);
    }
  });

  test('after GC of the intermediate snapshots, the kept ones restore bit-exactly from the chains their manifests list', async () => {
    const store = new MemoryStore();
    const repo = await Repository.init('memory://', { store, chunkSize: 16 * KiB });
    const ms = await saveSequence(repo, 5);
    // Keep the first delta's dependants only: checkpoints 1..3 go, and with them nothing 4 needs.
    await repo.tag('keep', ms[4]!.id);
    const forgot = await repo.forget({ run: 'r', rules: [], all: true, keepNewest: false });
    assert.equal(forgot.forgotten.length, 4);
    const gc = await repo.gc({ graceMs: 0 });
    assert.ok(gc.swept > 0, 'the intermediate checkpoints\' own chunks are garbage');
    const fresh = await Repository.open('memory://', { store });
    const back = await (await fresh.snapshot(ms[4]!.id)).tensor('model/w');
    assert.ok(Buffer.from(back.data).equals(Buffer.from(drifting(4).buffer)));
    const verify = await fresh.verify();
    assert.ok(verify.ok, JSON.stringify(verify.findings));
  });

  test('a chain ends with a keyframe once its newest delta saves less than 0.7 of what its first delta saved', async () => {
    const repo = await Repository.init('memory://', { store: new MemoryStore(), chunkSize: 16 * KiB });
    const ms = await saveSequence(repo, 12);
    let keyframes = 0;
    for (let i = 0; i < 4; i++) {
      const chain = ms.map((m) => chunkAt(m, i));
      for (let k = 1; k < chain.length; k++) {
        const parent = chain[k - 1]!;
        const now = chain[k]!;
        assert.ok(now.depth <= 2, `chunk ${i} of checkpoint ${k} at depth ${now.depth}`);
        if (parent.depth < 2) continue;
        // The rule, from the parent manifest alone: its chunk's chain is parent → first → keyframe.
        const first = ms[k - 1]!.chunks[parent.base!]!;
        const keyframe = ms[k - 1]!.chunks[first.base!]!;
        const pays = keyframe.stored - parent.stored >= KEYFRAME_WHEN_SAVING_BELOW * (keyframe.stored - first.stored);
        assert.equal(now.depth, pays ? 2 : 0, `chunk ${i} of checkpoint ${k}: parent saves ${keyframe.stored - parent.stored}, first ${keyframe.stored - first.stored}`);
        if (pays) assert.equal(now.base, parent.base);
        else keyframes++;
      }
    }
    assert.ok(keyframes >= 4, `every chunk's chain ends within 12 drifting checkpoints (${keyframes} keyframes)`);
    const last = await (await repo.snapshot(ms[11]!.id)).tensor('model/w');
    assert.ok(Buffer.from(last.data).equals(Buffer.from(drifting(11).buffer)));
  });

  test('maxDeltaDepth alone keeps its meaning (a plain chain); configs without a keyframe rule read as plain chains; a bad rule is refused', () => {
    assert.deepEqual(defaultConfig().delta, { maxDepth: 2, keyframe: 'stops-paying' });
    assert.deepEqual(defaultConfig({ maxDeltaDepth: 3 }).delta, { maxDepth: 3, keyframe: 'chain-full' });
    assert.deepEqual(defaultConfig({ deltaKeyframe: 'chain-full' }).delta, { maxDepth: 2, keyframe: 'chain-full' });
    assert.deepEqual(defaultConfig({ maxDeltaDepth: 1, deltaKeyframe: 'stops-paying' }).delta, { maxDepth: 1, keyframe: 'stops-paying' });
    const config = { ...defaultConfig(), delta: { maxDepth: 4, keyframe: 'sometimes' } };
    assert.throws(() => validateConfig(config), (e) => isEngramError(e, 'InvalidArgument') && e.data.field === 'delta.keyframe');
  });

  test('under chain-full, chains grow to maxDepth and then a keyframe follows, as before', async () => {
    const repo = await Repository.init('memory://', { store: new MemoryStore(), chunkSize: 16 * KiB, maxDeltaDepth: 2 });
    const ms = await saveSequence(repo, 5);
    assert.deepEqual(ms.map((m) => chunkAt(m, 0).depth), [0, 1, 2, 0, 1]);
    assert.equal(chunkAt(ms[2]!, 0).base, chunkAt(ms[1]!, 0).hash);
  });

  test('a full chain whose links the parent manifest lacks, or that does not end in a keyframe, ends with a keyframe', () => {
    const h = (c: string): string => c.repeat(64);
    const chunks = {
      [h('a')]: { size: 100, stored: 90 },
      [h('b')]: { size: 100, stored: 60, base: h('a'), depth: 1 },
      [h('c')]: { size: 100, stored: 62, base: h('b'), depth: 2 },
      // Reused objects whose base chain this manifest does not list (depth assumed at the bound).
      [h('d')]: { size: 100, stored: 61, base: h('9'), depth: 2 },
    };
    assert.deepEqual(chooseDeltaBase(h('c'), chunks, 2, 'stops-paying'), { hash: h('b'), depth: 1 });
    assert.deepEqual(chooseDeltaBase(h('c'), chunks, 2, 'chain-full'), { hash: h('c'), depth: 2 });
    assert.deepEqual(chooseDeltaBase(h('b'), chunks, 2, 'stops-paying'), { hash: h('b'), depth: 1 });
    assert.deepEqual(chooseDeltaBase(h('d'), chunks, 2, 'stops-paying'), { hash: h('d'), depth: 2 });
    // Saving 28 of the first delta's 30 pays (≥ 0.7); saving 20 does not.
    assert.deepEqual(chooseDeltaBase(h('c'), { ...chunks, [h('c')]: { ...chunks[h('c')]!, stored: 70 } }, 2, 'stops-paying'), { hash: h('c'), depth: 2 });
  });
});
