/**
 * ReplayBuffer semantics (reservoir, ring, class-balanced), sampling, typed errors, and exact resume
 * across a real CheckpointManager save and restore in the middle of the stream.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplayBuffer, type ReplayKind } from '../../src/continual/index.ts';
import { isEngramError } from '../../src/errors/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { CheckpointManager, Rng } from '../../src/train/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { assertSameTensors, batchOf, bytes, FIELDS, ints } from './helpers.ts';

const make = (kind: ReplayKind, capacity = 50, seed = 5): ReplayBuffer => new ReplayBuffer({ kind, capacity, seed, fields: FIELDS, labelField: 'y' });

test('ring holds the newest capacity examples; reservoir holds a uniform sample; every offer counts in seen', () => {
  const ring = make('ring', 20);
  const data = new Rng(1);
  assert.equal(ring.admit(batchOf(data, 0, 15)), 15);
  assert.equal(ring.admit(batchOf(data, 15, 15)), 15);
  assert.equal(ring.size, 20);
  assert.equal(ring.seen, 30);
  // Slots 0..9 were overwritten by examples 20..29, slots 10..19 hold 10..19.
  assert.deepEqual(ints(ring.contents().id!), [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);

  // Reservoir: over many independent seeds, each of 100 offered examples is held with probability 10/100.
  const held = new Array<number>(100).fill(0);
  const seeds = 400;
  for (let s = 0; s < seeds; s++) {
    const r = make('reservoir', 10, s);
    const d = new Rng(1000 + s);
    let admitted = 0;
    for (let k = 0; k < 10; k++) admitted += r.admit(batchOf(d, k * 10, 10));
    assert.equal(r.size, 10);
    assert.ok(admitted >= 10);
    for (const id of ints(r.contents().id!)) held[id]!++;
  }
  // Expected 40 per example (binomial sd ~6); early and late halves alike (no bias toward either end).
  const early = held.slice(0, 50).reduce((a, b) => a + b, 0) / 50;
  const late = held.slice(50).reduce((a, b) => a + b, 0) / 50;
  assert.ok(Math.abs(early - 40) < 4 && Math.abs(late - 40) < 4, `early ${early}, late ${late}`);
  assert.ok(held.every((h) => h > 15 && h < 70), `per-example counts ${held.join(',')}`);
});

test('class-balanced keeps classes balanced on an imbalanced stream; countsByClass', () => {
  const cb = make('class-balanced', 40);
  const data = new Rng(2);
  // 300 examples of class 0, then 20 of each of classes 1 and 2.
  const x = batchOf(data, 0, 340);
  const y = new Int32Array(340);
  for (let i = 300; i < 320; i++) y[i] = 1;
  for (let i = 320; i < 340; i++) y[i] = 2;
  cb.admit({ x: x.x!, y: { dtype: 'I32', shape: [340], data: bytes(y) }, id: x.id! });
  const counts = cb.countsByClass();
  assert.equal(cb.size, 40);
  // Classes 1 and 2 (20 each offered) keep every example until balanced: 40/3 rounds to 14/13/13.
  assert.ok(counts['1']! >= 13 && counts['2']! >= 13 && counts['0']! <= 14, JSON.stringify(counts));
  const reservoir = make('reservoir', 40);
  reservoir.admit({ x: x.x!, y: { dtype: 'I32', shape: [340], data: bytes(y) }, id: x.id! });
  const r = reservoir.countsByClass();
  assert.ok((r['0'] ?? 0) > 25, `reservoir follows the stream: ${JSON.stringify(r)}`);
});

test('sample draws without replacement up to size, with replacement beyond', () => {
  const b = make('reservoir', 30);
  b.admit(batchOf(new Rng(3), 0, 30));
  const s = b.sample(30);
  assert.deepEqual(ints(s.id!).sort((p, q) => p - q), Array.from({ length: 30 }, (_, i) => i));
  const more = b.sample(100);
  assert.deepEqual([...more.x!.shape], [100, 64]);
  assert.ok(ints(more.id!).every((i) => i >= 0 && i < 30));
  // Rows keep their fields together: the sampled x row of id k equals the held x row of id k.
  const held = b.contents();
  const rowOf = (t: { data: Uint8Array }, i: number): Buffer => Buffer.from(t.data.subarray(i * 256, (i + 1) * 256));
  const ids = ints(held.id!);
  for (const [i, id] of ints(more.id!).entries()) assert.ok(rowOf(more.x!, i).equals(rowOf(held.x!, ids.indexOf(id))));
  assert.equal(b.sample(0).x!.shape[0], 0);
});

test('bad input is a typed InvalidArgument and changes nothing', () => {
  const bad = (f: () => unknown, code = 'InvalidArgument'): void => {
    assert.throws(f, (e: unknown) => isEngramError(e, code as 'InvalidArgument'));
  };
  bad(() => new ReplayBuffer({ kind: 'reservoir', capacity: 0, seed: 1, fields: FIELDS }));
  bad(() => new ReplayBuffer({ kind: 'fifo' as ReplayKind, capacity: 3, seed: 1, fields: FIELDS }));
  bad(() => new ReplayBuffer({ kind: 'class-balanced', capacity: 3, seed: 1, fields: FIELDS }));
  bad(() => new ReplayBuffer({ kind: 'reservoir', capacity: 3, seed: 1, fields: FIELDS, labelField: 'x' }));
  const b = make('class-balanced', 10);
  const ok = batchOf(new Rng(4), 0, 4);
  bad(() => b.admit({ ...ok, x: { ...ok.x!, dtype: 'F64' } }));
  bad(() => b.admit({ ...ok, x: { ...ok.x!, shape: [4, 63] } }));
  bad(() => b.admit({ x: ok.x!, y: ok.y! }));
  bad(() => b.admit({ ...ok, extra: ok.y! }));
  bad(() => b.admit({ ...ok, y: { dtype: 'I32', shape: [4], data: bytes(Int32Array.of(0, 1, -3, 2)) } }));
  assert.equal(b.size, 0);
  assert.equal(b.seen, 0);
  bad(() => b.sample(1));
  bad(() => b.sample(-1));
  bad(() => new ReplayBuffer({ kind: 'ring', capacity: 2, seed: 1, fields: FIELDS }).countsByClass());
});

for (const kind of ['reservoir', 'ring', 'class-balanced'] as const) {
  test(`${kind}: a buffer restored from a checkpoint mid-stream admits and samples exactly what the uninterrupted one does`, async () => {
    const repo = await Repository.init(await tempDir('engram-replay-resume-'));
    const manager = new CheckpointManager(repo, { run: 'cl', async: false });
    const model = { w: { dtype: 'F32' as const, shape: [4], data: bytes(Float32Array.of(1, 2, 3, 4)) } };
    const a = make(kind, 37, 11);
    const data = new Rng(99);
    const stream = Array.from({ length: 24 }, (_, k) => batchOf(data, k * 13, 13, 7));
    let b: ReplayBuffer | undefined;
    for (const [k, batch] of stream.entries()) {
      const admitted = a.admit(batch);
      const drawn = a.sample(9);
      if (b) {
        assert.equal(b.admit(batch), admitted, `step ${k}`);
        assertSameTensors(drawn, b.sample(9), `sample at step ${k}`);
        assertSameTensors(a.contents(), b.contents(), `contents at step ${k}`);
        assert.equal(b.seen, a.seen);
      }
      if (k % 5 === 4) {
        const ns = a.toNamespace();
        if (b) {
          const nb = b.toNamespace();
          assert.deepEqual(nb.record, ns.record, `record at step ${k}`);
          assertSameTensors(ns.tensors as never, nb.tensors as never, `namespace tensors at step ${k}`);
        }
        await manager.save(k, { model, namespaces: { replay: ns } });
      }
      if (k === 14) {
        // A fresh process would restore the latest checkpoint: step 14, just saved.
        const state = await manager.restore('latest');
        assert.equal(state.step, 14);
        b = ReplayBuffer.fromNamespace(state.namespaces!.replay!);
        assertSameTensors(a.contents(), b.contents(), 'at restore');
        assert.equal(b.seen, a.seen);
        assert.equal(b.size, a.size);
      }
    }
    await manager.close();
    assert.ok(b && a.size === 37 && a.seen === 24 * 13);
    if (kind === 'class-balanced') assert.deepEqual(b.countsByClass(), a.countsByClass());
  });
}

test('a replay namespace that is not what this build wrote is a FormatError', () => {
  const b = make('reservoir', 10);
  b.admit(batchOf(new Rng(8), 0, 12));
  const ns = b.toNamespace();
  const record = ns.record as { [k: string]: never };
  const tensors = ns.tensors!;
  const fmt = (reason: string) => (e: unknown): boolean => isEngramError(e, 'FormatError') && e.data.reason === reason;
  assert.throws(() => ReplayBuffer.fromNamespace({ tensors, record: { ...record, version: 2 } }), fmt('newer version'));
  assert.throws(() => ReplayBuffer.fromNamespace({ tensors, record: { ...record, format: 'other' } }), fmt('not engram.replay-buffer'));
  assert.throws(() => ReplayBuffer.fromNamespace({ tensors: {}, record }), fmt('missing tensor'));
  const seg = tensors['seg-0']!;
  assert.throws(() => ReplayBuffer.fromNamespace({ tensors: { 'seg-0': { ...seg, shape: [seg.shape[0]!, seg.shape[1]! - 4] } }, record }), fmt('tensor layout'));
  assert.throws(() => ReplayBuffer.fromNamespace({ tensors, record: { ...record, size: 11 } }), fmt('inconsistent record'));
  const back = ReplayBuffer.fromNamespace({ tensors, record });
  assertSameTensors(b.contents(), back.contents(), 'round trip');
});
