/**
 * What a replay buffer costs per checkpoint, measured from the repository's own figures: a
 * 200-example buffer checkpointed every 50 steps through a real CheckpointManager on an fs
 * repository, next to a twin run that saves the same model without the buffer (the model's own
 * delta). And evicted segments: unreferenced once dead, collected by gc once no kept snapshot needs them.
 *
 * What is counted, per checkpoint k (all from `Repository.stats().storedBytes`, i.e. every object
 * in the store — chunks, manifests, refs):
 * - extra_k = Δstored(with buffer) − Δstored(twin): what the buffer adds;
 * - raw_k   = examples admitted since checkpoint k−1 (admit()'s count) × 264 bytes (x F32[64], y, id);
 * - meta_k  = |manifest with buffer| − |manifest of twin|: the buffer's manifest bytes (its segment
 *             tensor entries and their chunk entries, its record, its lines in blob `train`);
 * - moved_k = bytes of held rows the buffer moved out of older segments into the new one.
 * Asserted: extra_k − meta_k ≤ 1.2·raw_k + moved_k (the example bytes: new rows, compressed or not,
 * at most 1.2× their raw size), moved_k within the buffer's compaction rule, and meta_k bounded by
 * the number of live segments (≤ MAX_LIVE_SEGMENTS). The plain ratio extra_k / raw_k is printed.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_LIVE_SEGMENTS, ReplayBuffer, type ReplayKind } from '../../src/continual/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { CheckpointManager, Rng } from '../../src/train/index.ts';
import type { TensorData } from '../../src/tensor/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { batchOf, bytes, FIELDS, ints } from './helpers.ts';

const EXAMPLE_BYTES = 64 * 4 + 4 + 4;
const ROW_BYTES = EXAMPLE_BYTES + 4;

const manifestBytes = async (repo: Repository): Promise<number> => JSON.stringify(await repo.manifest(await repo.resolve('r@latest'))).length;

function modelAt(rng: Rng): Record<string, TensorData> {
  // A small MLP whose every weight changes at every step (its bundle is new bytes each time).
  const w1 = Float32Array.from({ length: 64 * 32 }, () => rng.normal());
  const w2 = Float32Array.from({ length: 32 * 10 }, () => rng.normal());
  return { w1: { dtype: 'F32', shape: [64, 32], data: bytes(w1) }, w2: { dtype: 'F32', shape: [32, 10], data: bytes(w2) } };
}

for (const kind of ['reservoir', 'class-balanced', 'ring'] as const satisfies readonly ReplayKind[]) {
  test(`${kind}: each checkpoint adds at most 1.2x the raw bytes of the examples admitted since the previous one, plus bounded metadata`, async () => {
    const withBuffer = await Repository.init(await tempDir('engram-replay-store-a-'));
    const twin = await Repository.init(await tempDir('engram-replay-store-b-'));
    const ma = new CheckpointManager(withBuffer, { run: 'r', async: false });
    const mb = new CheckpointManager(twin, { run: 'r', async: false });
    const buffer = new ReplayBuffer({ kind, capacity: 200, seed: 3, fields: FIELDS, labelField: 'y' });
    const data = new Rng(1);
    const weights = new Rng(2);
    let [prevA, prevB] = [(await withBuffer.stats()).storedBytes, (await twin.stats()).storedBytes];
    let admitted = 0;
    let firstSince = 0;
    let lastIds = new Set<number>();
    const lines: string[] = [];
    const STEPS = 600;
    const BATCH = 32;
    for (let step = 1; step <= STEPS; step++) {
      admitted += buffer.admit(batchOf(data, (step - 1) * BATCH, BATCH, 10));
      const model = modelAt(weights);
      if (step % 50 !== 0) continue;
      const ns = buffer.toNamespace();
      await ma.save(step, { model, namespaces: { replay: ns } });
      await mb.save(step, { model });
      const [sa, sb] = [(await withBuffer.stats()).storedBytes, (await twin.stats()).storedBytes];
      const extra = (sa - prevA) - (sb - prevB);
      const raw = admitted * EXAMPLE_BYTES;
      const meta = (await manifestBytes(withBuffer)) - (await manifestBytes(twin));
      // Rows of the segment this checkpoint made, less the new examples it holds: moved rows.
      const ids = Object.keys(ns.tensors!).map((n) => Number(n.slice(4)));
      const newest = Math.max(...ids);
      const newRows = lastIds.has(newest) ? 0 : ns.tensors![`seg-${newest}`]!.shape[0]!;
      const heldNew = ints(buffer.contents().id!).filter((id) => id >= firstSince).length;
      const moved = (newRows - heldNew) * ROW_BYTES;
      lines.push(`step ${step}: admitted ${admitted} (${raw} B), adds ${extra} B = ${(extra / raw).toFixed(2)}x raw; manifest +${meta} B, moved ${moved} B, live segments ${ids.length}`);
      assert.ok(moved >= 0, lines.at(-1));
      assert.ok(extra - meta <= 1.2 * raw + moved, `example bytes beyond 1.2x raw: ${lines.at(-1)}`);
      // A forced merge moves the held rows of the smallest of MAX+1 segments: at most capacity/(MAX+1) rows, rounded up.
      assert.ok(moved <= 1.2 * raw + Math.ceil(200 / (MAX_LIVE_SEGMENTS + 1)) * ROW_BYTES, `moved too much: ${lines.at(-1)}`);
      assert.ok(ids.length <= MAX_LIVE_SEGMENTS, lines.at(-1));
      assert.ok(meta <= 1024 + 400 * ids.length, `metadata: ${lines.at(-1)}`);
      [prevA, prevB] = [sa, sb];
      admitted = 0;
      firstSince = step * BATCH;
      lastIds = new Set(ids);
    }
    await ma.close();
    await mb.close();
    console.log(`${kind}\n${lines.join('\n')}`);
  });
}

test('a dead segment stops being referenced and gc collects it once no kept snapshot needs it', async () => {
  const dir = await tempDir('engram-replay-gc-');
  const repo = await Repository.init(dir);
  const manager = new CheckpointManager(repo, { run: 'r', async: false, retention: [{ kind: 'last', n: 2 }] });
  const buffer = new ReplayBuffer({ kind: 'ring', capacity: 20, seed: 1, fields: FIELDS });
  const data = new Rng(5);
  const model = { w: { dtype: 'F32' as const, shape: [2], data: bytes(Float32Array.of(1, 2)) } };
  buffer.admit(batchOf(data, 0, 20));
  await manager.save(1, { model, namespaces: { replay: buffer.toNamespace() } });
  const first = await repo.manifest(await repo.resolve('r@1'));
  const seg0 = first.tensors['replay/seg-0']!;
  assert.deepEqual([...seg0.shape], [20, ROW_BYTES]);
  const hashes = seg0.chunks.map((c) => c.hash);
  // Half the ring is replaced: seg-0 is still live, and checkpoint 2 reuses its chunks.
  buffer.admit(batchOf(data, 20, 10));
  await manager.save(2, { model, namespaces: { replay: buffer.toNamespace() } });
  const second = await repo.manifest(await repo.resolve('r@2'));
  assert.deepEqual(second.tensors['replay/seg-0']!.chunks, seg0.chunks);
  // The rest of the ring is replaced: seg-0 holds nothing any more and is left out.
  buffer.admit(batchOf(data, 30, 10));
  await manager.save(3, { model, namespaces: { replay: buffer.toNamespace() } });
  const third = await repo.manifest(await repo.resolve('r@3'));
  assert.ok(!('replay/seg-0' in third.tensors));
  assert.ok(hashes.every((h) => !Object.hasOwn(third.chunks, h)), 'checkpoint 3 refers to no chunk of seg-0');
  const onDisk = async (h: string): Promise<boolean> => (await readdir(join(dir, 'chunks', h.slice(0, 2))).catch(() => [] as string[])).includes(h);
  // Checkpoint 2 (kept by retention: the last 2) still needs seg-0: gc keeps it.
  await repo.gc({ graceMs: 0 });
  for (const h of hashes) assert.ok(await onDisk(h), 'seg-0 is kept while checkpoint 2 needs it');
  buffer.admit(batchOf(data, 40, 5));
  await manager.save(4, { model, namespaces: { replay: buffer.toNamespace() } });
  // Retention forgot checkpoints 1 and 2; no kept snapshot refers to seg-0: gc takes it.
  assert.deepEqual((await repo.log('r')).map((s) => s.step).sort(), [3, 4]);
  await repo.gc({ graceMs: 0 });
  for (const h of hashes) assert.ok(!(await onDisk(h)), 'seg-0 was collected');
  const state = await manager.restore('latest');
  const back = ReplayBuffer.fromNamespace(state.namespaces!.replay!);
  assert.deepEqual(ints(back.contents().id!), ints(buffer.contents().id!));
  await manager.close();
});

test('asynchronous saves on the commit thread reuse unchanged segments too, and restore exactly', async () => {
  const repo = await Repository.init(await tempDir('engram-replay-async-'));
  const manager = new CheckpointManager(repo, { run: 'r' });
  const buffer = new ReplayBuffer({ kind: 'reservoir', capacity: 50, seed: 9, fields: FIELDS, labelField: 'y' });
  const data = new Rng(6);
  const weights = new Rng(7);
  const seen: { step: number; contents: Record<string, TensorData> }[] = [];
  for (let step = 1; step <= 6; step++) {
    buffer.admit(batchOf(data, (step - 1) * 40, 40));
    await manager.save(step, { model: modelAt(weights), namespaces: { replay: buffer.toNamespace() } });
    seen.push({ step, contents: buffer.contents() });
  }
  await manager.wait();
  const manifests = await Promise.all(seen.map(async (s) => repo.manifest(await repo.resolve(`r@${s.step}`))));
  let reused = 0;
  for (const [k, m] of manifests.entries()) {
    if (k === 0) continue;
    for (const [name, t] of Object.entries(m.tensors)) {
      const before = manifests[k - 1]!.tensors[name];
      // A segment listed in the previous checkpoint is the same chunks, not a new copy.
      if (name.startsWith('replay/') && before) {
        assert.deepEqual(t.chunks, before.chunks, `${name} at step ${k + 1}`);
        reused++;
      }
    }
  }
  assert.ok(reused >= 5, `segments carried over: ${reused}`);
  for (const s of seen) {
    const back = ReplayBuffer.fromNamespace((await manager.restore({ step: s.step })).namespaces!.replay!);
    assert.deepEqual(ints(back.contents().id!), ints(s.contents.id!));
  }
  await manager.close();
});

test('resumed from an older checkpoint, segment names reused with new bytes are written, never taken from a later snapshot', async () => {
  const repo = await Repository.init(await tempDir('engram-replay-older-'));
  const manager = new CheckpointManager(repo, { run: 'r', async: false });
  const data = new Rng(3);
  const model = { w: { dtype: 'F32' as const, shape: [2], data: bytes(Float32Array.of(1, 2)) } };
  const buffer = new ReplayBuffer({ kind: 'ring', capacity: 10, seed: 1, fields: FIELDS });
  for (let step = 1; step <= 3; step++) {
    buffer.admit(batchOf(data, step * 100, 4));
    await manager.save(step, { model, namespaces: { replay: buffer.toNamespace() } });
  }
  // Back to step 1, then other examples: seg-1 and seg-2 get new bytes under names step 2 and 3 used.
  const resumed = ReplayBuffer.fromNamespace((await manager.restore({ step: 1 })).namespaces!.replay!);
  for (let step = 2; step <= 3; step++) {
    resumed.admit(batchOf(data, step * 1000, 4));
    await manager.save(step + 10, { model, namespaces: { replay: resumed.toNamespace() } });
  }
  const back = ReplayBuffer.fromNamespace((await manager.restore('latest')).namespaces!.replay!);
  assert.deepEqual(ints(back.contents().id!), ints(resumed.contents().id!));
  assert.deepEqual(ints(back.contents().id!), [3002, 3003, 102, 103, 2000, 2001, 2002, 2003, 3000, 3001]);
  assert.deepEqual((await repo.verify()).findings, []);
  await manager.close();
});
