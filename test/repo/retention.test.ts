/**
 * Retention policies (planRetention, Repository.forget) and GC after forget, on memory repositories
 * driven by a fake clock: which snapshots each rule keeps, their union, the tag and newest guards,
 * dry runs, and that GC removes exactly the chunks no kept snapshot needs — delta bases included —
 * while kept snapshots verify clean and restore bit-exact.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { chunkKey, hashOfChunkKey } from '../../src/repo/chunk-key.ts';
import { liveChunks } from '../../src/repo/manifest.ts';
import { planRetention, Repository, type RetentionPlan, type RetentionPolicy } from '../../src/repo/index.ts';
import { MemoryStore, type ObjectStore } from '../../src/store/index.ts';
import { encodeChunk, readChunkHeader, sha256Hex } from '../../src/codec/index.ts';
import { Tensor } from '../../src/tensor/index.ts';
import { f32Tensor, gaussian } from '../helpers/weights.ts';

const KiB = 1024;
const HOUR = 3_600_000;

/** A clock tests move by hand. */
class FakeClock {
  t = Date.UTC(2026, 0, 1);
  now(): number { return this.t; }
  advance(ms: number): void { this.t += ms; }
}

async function newRepo(): Promise<{ repo: Repository; store: MemoryStore; clock: FakeClock }> {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  // 16 KiB chunks and a 4 KiB bundling threshold, so a 4096-element F32 tensor is exactly one chunk.
  const repo = await Repository.init('memory://', { store, clock, chunkSize: 16 * KiB, smallThreshold: 4 * KiB });
  return { repo, store, clock };
}

/** Losses (minimised) and accuracies (maximised; steps 8 and 9 have none). */
const LOSS = [0.9, 0.8, 0.85, 0.5, 0.6, 0.4, 0.45, 0.7, 0.3, 0.35];
const ACC = [0.1, 0.2, 0.9, 0.3, 0.8, 0.4, 0.5, 0.6];

/** What step `step` of run `run` holds: a shared tensor (dedup) and one unique to the snapshot. */
function weights(run: string, step: number): Record<string, Tensor> {
  const seed = (run === 'a' ? 1000 : 2000) + step;
  return { shared: f32Tensor([4096], 7), w: f32Tensor([8192], seed) };
}

/**
 * Run `a`: steps 0..9, one every 40 s; run `b`: steps 0..2 afterwards. Returns the tensors saved,
 * by snapshot id, to compare restores against.
 */
async function populate(repo: Repository, clock: FakeClock): Promise<Map<string, Record<string, Tensor>>> {
  const saved = new Map<string, Record<string, Tensor>>();
  for (let step = 0; step < 10; step++) {
    const tensors = weights('a', step);
    const metrics: Record<string, number> = { loss: LOSS[step]! };
    if (step < ACC.length) metrics.acc = ACC[step]!;
    const s = await repo.save({ run: 'a', step, tensors, metrics });
    saved.set(s.id, tensors);
    clock.advance(40_000);
  }
  for (let step = 0; step < 3; step++) {
    const tensors = weights('b', step);
    const s = await repo.save({ run: 'b', step, tensors, metrics: { loss: 1 - step / 10 } });
    saved.set(s.id, tensors);
    clock.advance(40_000);
  }
  return saved;
}

function kept(plan: RetentionPlan, run: string): number[] {
  return plan.keep.filter((d) => d.run === run).map((d) => d.step).sort((x, y) => x - y);
}

async function chunkKeys(store: ObjectStore): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const o of store.list('chunks/')) if (hashOfChunkKey(o.key)) keys.add(o.key);
  return keys;
}

async function allKeys(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list('')) keys.push(o.key);
  return keys.sort();
}

async function assertRestoresExactly(repo: Repository, id: string, tensors: Record<string, Tensor>): Promise<void> {
  const snap = await repo.snapshot(id);
  for (const [name, t] of Object.entries(tensors)) {
    assert.deepEqual(Buffer.from((await snap.tensor(name)).data), Buffer.from(t.data), `${id} ${name}`);
  }
}

describe('retention rules', () => {
  test('each rule alone keeps what Orbax would', async () => {
    const { repo, clock } = await newRepo();
    await populate(repo, clock);
    const snaps = await repo.log();
    const plan = (policy: Omit<RetentionPolicy, 'keepNewest'>): RetentionPlan => planRetention(snaps, new Map(), { ...policy, keepNewest: false });

    assert.deepEqual(kept(plan({ rules: [{ kind: 'last', n: 3 }] }), 'a'), [7, 8, 9]);
    assert.deepEqual(kept(plan({ rules: [{ kind: 'last', n: 3 }] }), 'b'), [0, 1, 2], 'rules apply within each run');
    assert.deepEqual(kept(plan({ rules: [{ kind: 'every-steps', n: 4 }] }), 'a'), [0, 4, 8]);
    // Snapshots every 40 s; one every 100 s walking from the oldest: t = 0, 120, 240, 360.
    assert.deepEqual(kept(plan({ rules: [{ kind: 'every-seconds', seconds: 100 }] }), 'a'), [0, 3, 6, 9]);
    assert.deepEqual(kept(plan({ rules: [{ kind: 'every-seconds', seconds: 40 }] }), 'a'), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // loss is minimised by default: the two lowest are 0.3 (step 8) and 0.35 (step 9).
    assert.deepEqual(kept(plan({ rules: [{ kind: 'best', metric: 'loss', n: 2 }] }), 'a'), [8, 9]);
    assert.deepEqual(kept(plan({ rules: [{ kind: 'best', metric: 'loss', n: 2, mode: 'max' }] }), 'a'), [0, 2]);
    // acc is maximised: 0.9 (step 2) and 0.8 (step 4); steps 8 and 9 have no acc and are kept as
    // unmeasured unless asked otherwise (Orbax keep_checkpoints_without_metrics).
    assert.deepEqual(kept(plan({ rules: [{ kind: 'best', metric: 'acc', n: 2 }] }), 'a'), [2, 4, 8, 9]);
    assert.deepEqual(kept(plan({ rules: [{ kind: 'best', metric: 'acc', n: 2, keepUnmeasured: false }] }), 'a'), [2, 4]);
    assert.deepEqual(kept(plan({ rules: [{ kind: 'steps', steps: [2, 5, 99] }] }), 'a'), [2, 5]);
    const all = plan({ rules: [{ kind: 'steps', steps: [2, 5] }] });
    assert.equal(all.keep.length + all.forget.length, 13);
    assert.equal(all.untouched, 0);
    assert.ok(all.forget.every((d) => d.keptBy.length === 0));
  });

  test('rules compose by union, and every kept snapshot names each rule that kept it', async () => {
    const { repo, clock } = await newRepo();
    await populate(repo, clock);
    const plan = planRetention(await repo.log(), new Map(), {
      rules: [{ kind: 'last', n: 2 }, { kind: 'every-steps', n: 5 }, { kind: 'best', metric: 'loss', n: 1 }],
    });
    assert.deepEqual(kept(plan, 'a'), [0, 5, 8, 9]);
    assert.deepEqual(kept(plan, 'b'), [0, 1, 2]);
    const why = (run: string, step: number): string[] => plan.keep.find((d) => d.run === run && d.step === step)!.keptBy.map((r) => r.by);
    assert.deepEqual(why('a', 8), ['last', 'best']);
    assert.deepEqual(why('a', 9), ['last', 'newest']);
    assert.deepEqual(why('a', 0), ['every-steps']);
    assert.deepEqual(why('b', 0), ['every-steps']);
    const labels = plan.keep.find((d) => d.run === 'a' && d.step === 8)!.keptBy.map((r) => r.label);
    assert.deepEqual(labels, ['last 2', 'best 1 by loss (min): 0.3']);
    assert.deepEqual(plan.keep.find((d) => d.run === 'a' && d.step === 8)!.keptBy.map((r) => r.rule), [0, 2]);
    assert.deepEqual(plan.forget.map((d) => `${d.run}@${d.step}`), ['a@1', 'a@2', 'a@3', 'a@4', 'a@6', 'a@7']);
  });

  test('tagged snapshots and each run\'s newest are kept unless explicitly allowed', async () => {
    const { repo, clock } = await newRepo();
    await populate(repo, clock);
    await repo.tag('prod', 'a@2');
    const snaps = await repo.log();
    const tags = await repo.tags();
    const rules = [{ kind: 'steps', steps: [3] }] as const;
    const guarded = planRetention(snaps, tags, { run: 'a', rules });
    assert.deepEqual(kept(guarded, 'a'), [2, 3, 9]);
    assert.deepEqual(guarded.keep.find((d) => d.step === 2)!.keptBy, [{ by: 'tagged', label: 'tag prod' }]);
    assert.deepEqual(guarded.keep.find((d) => d.step === 9)!.keptBy, [{ by: 'newest', label: 'newest of run a' }]);
    assert.equal(guarded.untouched, 3, 'run b is not considered');
    assert.deepEqual(kept(planRetention(snaps, tags, { run: 'a', rules, keepTagged: false }), 'a'), [3, 9]);
    assert.deepEqual(kept(planRetention(snaps, tags, { run: 'a', rules, keepNewest: false }), 'a'), [2, 3]);
    assert.deepEqual(kept(planRetention(snaps, tags, { run: 'a', rules, keepNewest: false, keepTagged: false }), 'a'), [3]);
    // No rule at all needs `all`, and then only the guards keep anything.
    assert.throws(() => planRetention(snaps, tags, { rules: [] }), (e) => isEngramError(e, 'InvalidArgument'));
    const everything = planRetention(snaps, tags, { rules: [], all: true });
    assert.deepEqual(everything.keep.map((d) => `${d.run}@${d.step}`), ['a@2', 'a@9', 'b@2']);
  });

  test('meaningless rules are refused', async () => {
    const none = new Map<string, string>();
    for (const rule of [{ kind: 'last', n: 0 }, { kind: 'every-steps', n: 1.5 }, { kind: 'every-seconds', seconds: -1 }, { kind: 'best', metric: '', n: 1 }, { kind: 'steps', steps: [-1] }] as const) {
      assert.throws(() => planRetention([], none, { rules: [rule] }), (e) => isEngramError(e, 'InvalidArgument'), JSON.stringify(rule));
    }
    const { repo } = await newRepo();
    await assert.rejects(repo.forget({ run: 'nope', rules: [{ kind: 'last', n: 1 }] }), (e) => isEngramError(e, 'NotFound'));
  });
});

describe('forget and gc', () => {
  test('a dry run changes nothing', async () => {
    const { repo, store, clock } = await newRepo();
    await populate(repo, clock);
    const before = await allKeys(store);
    const result = await repo.forget({ rules: [{ kind: 'last', n: 1 }] }, { dryRun: true });
    assert.equal(result.dryRun, true);
    assert.equal(result.forget.length, 11);
    assert.deepEqual(result.forgotten, []);
    clock.advance(2 * HOUR);
    const gc = await repo.gc({ dryRun: true });
    assert.equal(gc.id, null);
    assert.deepEqual(await allKeys(store), before);
  });

  test('forget deletes only manifests; gc then sweeps exactly the chunks no kept snapshot needs', async () => {
    const { repo, store, clock } = await newRepo();
    const saved = await populate(repo, clock);
    await repo.tag('prod', 'a@3');
    const chunksBefore = await chunkKeys(store);
    const result = await repo.forget({ rules: [{ kind: 'last', n: 2 }, { kind: 'best', metric: 'loss', n: 1 }] });
    assert.deepEqual(kept(result, 'a'), [3, 8, 9]);
    assert.deepEqual(kept(result, 'b'), [1, 2]);
    assert.deepEqual(result.forgotten, result.forget.map((d) => d.id));
    const keptIds = result.keep.map((d) => d.id);
    assert.deepEqual(await repo.snapshotIds(), [...keptIds].sort());
    assert.deepEqual(await chunkKeys(store), chunksBefore, 'forget deletes no chunk');
    for (const id of result.forgotten) await assert.rejects(repo.snapshot(id), (e) => isEngramError(e, 'NotFound'));
    assert.equal((await repo.verify()).ok, true);

    const needed = new Set<string>();
    for (const id of keptIds) for (const h of liveChunks(await repo.manifest(id))) needed.add(chunkKey(h));
    const garbage = [...chunksBefore].filter((k) => !needed.has(k));
    assert.ok(garbage.length >= 8, `only ${garbage.length} chunks became garbage`);

    clock.advance(2 * HOUR);
    const stats = await repo.stats();
    assert.equal(stats.reclaimableChunks, garbage.length, 'stats predicts what gc reclaims');
    const report = await repo.gc();
    assert.equal(report.skipped, undefined);
    assert.equal(report.swept, garbage.length);
    assert.equal(report.sweptBytes, stats.reclaimableBytes);
    assert.equal(report.keptYoung, 0);
    assert.deepEqual(await chunkKeys(store), needed, 'exactly the needed chunks remain');
    const verify = await repo.verify();
    assert.equal(verify.ok, true, JSON.stringify(verify.findings));
    for (const id of keptIds) await assertRestoresExactly(repo, id, saved.get(id)!);
    assert.equal((await repo.gc()).swept, 0, 'a second gc finds nothing');
    assert.equal((await repo.stats()).reclaimableChunks, 0);
  });

  test('unreferenced chunks younger than the grace period are kept', async () => {
    const { repo, store, clock } = await newRepo();
    await repo.save({ run: 'old', step: 0, tensors: { w: f32Tensor([4096], 1) } });
    await repo.save({ run: 'keep', step: 0, tensors: { w: f32Tensor([4096], 2) } });
    await repo.forget({ run: 'old', rules: [], all: true, keepNewest: false });
    const oldChunk = chunkKey(sha256Hex(f32Tensor([4096], 1).data));
    clock.advance(2 * HOUR);
    await repo.save({ run: 'young', step: 0, tensors: { w: f32Tensor([4096], 3) } });
    await repo.forget({ run: 'young', rules: [], all: true, keepNewest: false });
    const youngChunk = chunkKey(sha256Hex(f32Tensor([4096], 3).data));
    clock.advance(60_000);

    const report = await repo.gc({ graceMs: HOUR });
    assert.equal(report.swept, 1);
    assert.equal(report.keptYoung, 1);
    assert.equal(await store.head(oldChunk), undefined);
    assert.ok(await store.head(youngChunk), 'a chunk younger than the grace period survives');
    assert.equal((await repo.gc({ graceMs: 0 })).swept, 1, 'with no grace it goes');
    assert.equal(await store.head(youngChunk), undefined);
    assert.equal((await repo.verify()).ok, true);
  });

  test('delta bases a kept snapshot needs survive, even when only a chunk header names them', async () => {
    const { repo, store, clock } = await newRepo();
    // A chain a <- b <- c built through the store layer: b is a delta against a, c against b.
    const a = gaussian(4096, 11);
    const b = a.slice();
    for (let i = 0; i < b.length; i += 97) b[i]! += 0.001;
    const c = b.slice();
    for (let i = 5; i < c.length; i += 89) c[i]! -= 0.001;
    const bytes = (f: Float32Array): Uint8Array => new Uint8Array(f.buffer);
    const [ha, hb, hc] = [a, b, c].map((f) => sha256Hex(bytes(f))) as [string, string, string];
    const first = await repo.save({ run: 'base', step: 0, tensors: { w: Tensor.fromFloat32(a, [4096]) } });
    assert.ok(await store.head(chunkKey(ha)));
    const encB = await encodeChunk(bytes(b), { width: 4, base: { hash: ha, bytes: bytes(a) } });
    const encC = await encodeChunk(bytes(c), { width: 4, base: { hash: hb, bytes: bytes(b) } });
    assert.equal(readChunkHeader(encB).baseHash, ha, 'b is stored as a delta');
    assert.equal(readChunkHeader(encC).baseHash, hb, 'c is stored as a delta');
    await store.put(chunkKey(hb), encB, { ifAbsent: true });
    await store.put(chunkKey(hc), encC, { ifAbsent: true });

    // Another process (a fresh Repository: nothing cached) saves c and finds the object stored:
    // its manifest records c's base b, but knows nothing of b's base a.
    const other = await Repository.open('memory://', { store, clock });
    const snap = await other.save({ run: 'tip', step: 0, parent: null, tensors: { w: Tensor.fromFloat32(c, [4096]) } });
    assert.equal(snap.manifest.chunks[hc]?.base, hb);
    assert.equal(snap.manifest.chunks[ha], undefined, 'a is named by no live manifest');

    // An unrelated orphan, to show that gc does sweep.
    await repo.save({ run: 'junk', step: 0, tensors: { w: f32Tensor([4096], 99) } });
    const orphan = chunkKey(sha256Hex(f32Tensor([4096], 99).data));
    await repo.forget({ run: 'junk', rules: [], all: true, keepNewest: false });
    const forgot = await repo.forget({ run: 'base', rules: [], all: true, keepNewest: false });
    assert.deepEqual(forgot.forgotten, [first.id]);
    clock.advance(2 * HOUR);

    const report = await other.gc();
    assert.equal(report.missing, 0);
    assert.ok(await store.head(chunkKey(hc)), 'c survives');
    assert.ok(await store.head(chunkKey(hb)), 'b survives: c is a delta against it');
    assert.ok(await store.head(chunkKey(ha)), 'a survives: only b\'s header names it');
    assert.equal(await store.head(orphan), undefined, 'the orphan is swept');
    assert.equal(report.swept, 1);
    const verify = await other.verify();
    assert.equal(verify.ok, true, JSON.stringify(verify.findings));
    const fresh = await Repository.open('memory://', { store, clock });
    assert.deepEqual(Buffer.from((await (await fresh.snapshot('tip@0')).tensor('w')).data), Buffer.from(bytes(c)));
  });

  test('delta chains the save path builds against the parent survive forgetting the parents', async () => {
    const { repo, store, clock } = await newRepo();
    const w0 = gaussian(8192, 21);
    const steps = [w0];
    for (let s = 1; s < 4; s++) {
      const next = steps[s - 1]!.slice();
      for (let i = s; i < next.length; i += 101) next[i]! *= 1.01;
      steps.push(next);
    }
    const ids: string[] = [];
    for (let s = 0; s < steps.length; s++) {
      ids.push((await repo.save({ run: 'ft', step: s, tensors: { w: Tensor.fromFloat32(steps[s]!, [8192]) } })).id);
      clock.advance(1000);
    }
    const tip = await repo.manifest(ids[3]!);
    const deltas = Object.values(tip.chunks).filter((i) => i.base !== undefined).length;
    const result = await repo.forget({ run: 'ft', rules: [{ kind: 'last', n: 1 }] });
    assert.deepEqual(result.forgotten, ids.slice(0, 3));
    clock.advance(2 * HOUR);
    const report = await repo.gc();
    assert.equal(report.missing, 0);
    const needed = new Set([...liveChunks(tip)].map(chunkKey));
    assert.deepEqual(await chunkKeys(store), needed);
    assert.equal((await repo.verify()).ok, true);
    const fresh = await Repository.open('memory://', { store, clock });
    assert.deepEqual(Buffer.from((await (await fresh.snapshot('ft@3')).tensor('w')).data), Buffer.from(new Uint8Array(steps[3]!.buffer)));
    assert.ok(deltas >= 3, `the save path stored ${deltas} deltas: this test would prove nothing`);
  });
});
