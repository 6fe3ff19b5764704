import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngramError, type EngramError } from '../../src/errors/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { Tensor } from '../../src/tensor/index.ts';
import {
  compareLayouts, decodeStateJson, encodeStateJson, encodeTrainingState, readTrainingState, type OptimizerSlot, type TrainingState,
} from '../../src/train/index.ts';
import { MlpTrainer } from './fixtures/mlp.ts';

async function memoryRepo(): Promise<Repository> {
  return Repository.init('memory://', { store: new MemoryStore() });
}

async function saveState(repo: Repository, state: TrainingState, step = 5): Promise<string> {
  const e = encodeTrainingState(state);
  return (await repo.save({ run: 'r', step, tensors: e.tensors, blobs: e.blobs, meta: e.meta })).id;
}

const bytes = (t: { data: Uint8Array }): Buffer => Buffer.from(t.data);

describe('training state ↔ snapshot', () => {
  test('maps weights to model/…, slots to optimizer/… in order, small state to blobs train, rng, data and meta train', async () => {
    const repo = await memoryRepo();
    const trainer = new MlpTrainer(3);
    for (let i = 0; i < 20; i++) trainer.trainStep();
    const id = await saveState(repo, trainer.state(), 20);
    const snap = await repo.snapshot(id);
    assert.deepEqual(snap.tensorNames(), [
      'model/w1', 'model/b1', 'model/w2', 'model/b2',
      'optimizer/w1/m', 'optimizer/w1/v', 'optimizer/b1/m', 'optimizer/b1/v', 'optimizer/w2/m', 'optimizer/w2/v', 'optimizer/b2/m', 'optimizer/b2/v',
    ]);
    assert.deepEqual(snap.blobNames().sort(), ['data', 'rng', 'train']);
    assert.deepEqual(snap.meta.train, { format: 'engram.training-state', version: 1, optimizerStep: 20, epoch: 1, index: 64 });
    assert.deepEqual(decodeStateJson(await snap.blob('data'), 'data'), trainer.state().data);
    assert.deepEqual(decodeStateJson(await snap.blob('rng'), 'rng'), { dropout: trainer.dropoutRng.getState(), data: trainer.dataRng.getState() });
  });

  test('every part comes back exactly, including NaN, ±Infinity and −0 in the JSON parts', async () => {
    const repo = await memoryRepo();
    const trainer = new MlpTrainer(4);
    for (let i = 0; i < 7; i++) trainer.trainStep();
    const base = trainer.state();
    const state: TrainingState = {
      ...base,
      metricsHistory: [...base.metricsHistory!, { step: 8, metrics: { loss: Number.NaN, grad_norm: Number.POSITIVE_INFINITY } }],
      user: { zero: -0, low: Number.NEGATIVE_INFINITY, list: [1.5, null, 'x'], nested: { $float: 'not special', a: 1 } },
      data: { epoch: 0, index: 112, shuffleSeed: trainer.shuffleSeed, extra: { shard: 'a-3' } },
    };
    const back = await readTrainingState(await repo.snapshot(await saveState(repo, state, 8)));
    assert.equal(back.step, 8);
    assert.deepEqual(Object.keys(back.model), Object.keys(state.model));
    for (const [n, t] of Object.entries(state.model)) assert.ok(bytes(back.model[n]!).equals(bytes(t)), n);
    assert.equal(back.optimizer!.name, 'adam');
    assert.equal(back.optimizer!.step, 7);
    assert.deepEqual(back.optimizer!.hyper, state.optimizer!.hyper);
    assert.deepEqual(back.optimizer!.slots.map((s) => s.name), state.optimizer!.slots.map((s) => s.name));
    state.optimizer!.slots.forEach((s, i) => assert.ok(bytes(back.optimizer!.slots[i]!.tensor).equals(bytes(s.tensor)), s.name));
    assert.deepEqual(back.rng, state.rng);
    assert.deepEqual(back.data, state.data);
    assert.deepEqual(back.lrSchedule, state.lrSchedule);
    assert.deepEqual(back.metricsHistory, state.metricsHistory);
    assert.ok(Number.isNaN(back.metricsHistory!.at(-1)!.metrics.loss));
    assert.deepEqual(back.user, state.user);
    assert.ok(Object.is((back.user as { zero: number }).zero, -0));
  });

  test('restores into the caller\'s buffers in place', async () => {
    const repo = await memoryRepo();
    const a = new MlpTrainer(5);
    for (let i = 0; i < 9; i++) a.trainStep();
    const id = await saveState(repo, a.state(), 9);
    const b = new MlpTrainer(6); // other weights, same layout
    const into = b.into();
    const back = await readTrainingState(await repo.snapshot(id), into);
    assert.equal(back.model.w1!.data.buffer, b.params.w1!.buffer);
    assert.equal(back.optimizer!.slots[1]!.tensor.data.buffer, b.v.w1!.buffer);
    for (const n of Object.keys(a.params)) {
      assert.deepEqual(b.params[n], a.params[n], n);
      assert.deepEqual(b.m[n], a.m[n], n);
      assert.deepEqual(b.v[n], a.v[n], n);
    }
  });

  test('a different slot order, slot set, shape or dtype is InvalidArgument saying what differs, and nothing is loaded', async () => {
    const repo = await memoryRepo();
    const trainer = new MlpTrainer(8);
    trainer.trainStep();
    const snap = await repo.snapshot(await saveState(repo, trainer.state(), 1));
    const slots = trainer.state().optimizer!.slots;
    const fresh = (s: OptimizerSlot): OptimizerSlot => ({ name: s.name, tensor: new Tensor(s.tensor.dtype, s.tensor.shape, new Uint8Array(s.tensor.data.byteLength)) });
    const cases: { slots: OptimizerSlot[]; match: RegExp; kind: string }[] = [
      { slots: [slots[1]!, slots[0]!, ...slots.slice(2)].map(fresh), kind: 'order', match: /order differs: position 0 is w1\/m in the checkpoint but w1\/v in the target/ },
      { slots: slots.slice(0, -1).map(fresh), kind: 'missing', match: /b2\/v is in the checkpoint but not in the target/ },
      { slots: [...slots, { name: 'extra/m', tensor: slots[0]!.tensor }].map(fresh), kind: 'extra', match: /extra\/m is in the target but not in the checkpoint/ },
      {
        slots: slots.map((s, i) => (i === 2 ? { name: s.name, tensor: new Tensor('F32', [16, 2], new Uint8Array(128)) } : fresh(s))),
        kind: 'shape', match: /optimizer slot b1\/m is F32\[32\] in the checkpoint but F32\[16, 2\] in the target/,
      },
      {
        slots: slots.map((s, i) => (i === 3 ? { name: s.name, tensor: new Tensor('I32', [32], new Uint8Array(128)) } : fresh(s))),
        kind: 'dtype', match: /b1\/v is F32\[32\] in the checkpoint but I32\[32\]/,
      },
    ];
    for (const c of cases) {
      await assert.rejects(readTrainingState(snap, { optimizer: c.slots }), (e: EngramError) => {
        assert.equal(e.code, 'InvalidArgument');
        assert.match(e.message, c.match);
        assert.equal((e.data.mismatch as { kind: string }).kind, c.kind);
        return true;
      });
      for (const s of c.slots) assert.ok(s.tensor.data.every((b) => b === 0) || s.name === 'extra/m', `${c.kind}: ${s.name} was written`);
    }
    const model = { ...trainer.state().model };
    delete (model as Record<string, unknown>).b2;
    await assert.rejects(readTrainingState(snap, { model }), (e) => isEngramError(e, 'InvalidArgument') && /b2 is in the checkpoint but not in the target/.test(e.message));
    // Model weights match by name: order does not matter.
    const reordered = Object.fromEntries(Object.entries(trainer.state().model).reverse());
    await readTrainingState(snap, { model: reordered });
    assert.equal(compareLayouts([{ name: 'a', dtype: 'F32', shape: [2] }], [{ name: 'a', dtype: 'F32', shape: [2] }], 'slot', true), undefined);
  });

  test('refuses malformed states before copying anything, and snapshots without a training state', async () => {
    const w = Tensor.fromFloat32(new Float32Array(4));
    const bad: [TrainingState, RegExp][] = [
      [{ model: { w: { dtype: 'F32', shape: [5], data: w.data } } }, /needs 20 bytes, got 16/],
      [{ model: { w }, optimizer: { step: 1, slots: [{ name: 's', tensor: w }, { name: 's', tensor: w }] } }, /listed twice/],
      [{ model: { w }, optimizer: { step: -1, slots: [] } }, /optimizer step must be a non-negative integer/],
      [{ model: { w }, data: { epoch: 1.5, index: 0 } }, /data epoch/],
      [{ model: { w: { dtype: 'F33' as 'F32', shape: [4], data: w.data } } }, /unknown dtype/],
    ];
    for (const [state, match] of bad) {
      let copies = 0;
      assert.throws(() => encodeTrainingState(state, (_n, d) => (copies++, d)), (e) => isEngramError(e, 'InvalidArgument') && match.test(e.message));
      assert.equal(copies, 0);
    }
    const repo = await memoryRepo();
    const plain = await repo.save({ run: 'p', step: 0, tensors: { 'model/w': w } });
    await assert.rejects(readTrainingState(plain), (e) => isEngramError(e, 'NotFound') && /holds no training state/.test(e.message));
  });

  test('state JSON keeps special floats and refuses bytes that are not JSON', () => {
    const v = { a: [Number.NaN, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.1 + 0.2] };
    const back = decodeStateJson(encodeStateJson(v), 'x') as typeof v;
    assert.ok(Number.isNaN(back.a[0]) && Object.is(back.a[1], -0) && back.a[2] === Infinity && back.a[3] === -Infinity && back.a[4] === 0.1 + 0.2);
    assert.throws(() => decodeStateJson(new TextEncoder().encode('{nope'), 'blob train'), (e) => isEngramError(e, 'FormatError') && /blob train/.test(e.message));
  });
});
