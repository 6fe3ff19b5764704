/** Ewc and FisherAccumulator against a direct computation; online decay; namespace round trip; typed errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ewc, FisherAccumulator } from '../../src/continual/index.ts';
import { isEngramError } from '../../src/errors/index.ts';
import type { JsonValue, TensorData } from '../../src/tensor/index.ts';
import { Rng } from '../../src/train/index.ts';
import { bytes } from './helpers.ts';

const f32t = (v: Float32Array, shape: number[]): TensorData => ({ dtype: 'F32', shape, data: bytes(v) });
const vals = (t: TensorData): Float32Array => new Float32Array(t.data.slice().buffer);
const randoms = (rng: Rng, n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * scale);
const positive = (rng: Rng, n: number): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(0, 2));

function model(rng: Rng): Record<string, TensorData> {
  return { 'dense/kernel': f32t(randoms(rng, 12), [3, 4]), 'dense/bias': f32t(randoms(rng, 4), [4]) };
}

test('FisherAccumulator: mean of squared per-example gradients; batch estimates weighted by size', () => {
  const rng = new Rng(1);
  const acc = new FisherAccumulator({ w: [2, 3] });
  const gs = Array.from({ length: 5 }, () => randoms(rng, 6));
  for (const g of gs) acc.add({ w: g });
  const f = acc.result().w!;
  assert.deepEqual([...f.shape], [2, 3]);
  for (let i = 0; i < 6; i++) {
    const want = gs.reduce((s, g) => s + g[i]! * g[i]!, 0) / 5;
    assert.ok(Math.abs(vals(f)[i]! - want) <= 1e-6 * Math.max(1, want));
  }
  const b = new FisherAccumulator();
  b.add({ w: Float32Array.of(0.5) }, 4); // one batch-mean gradient over 4 examples: estimate 4·0.25 = 1
  b.addSquared({ w: Float32Array.of(8) }, 4); // Σ g² over 4 examples = 8: estimate 2
  assert.equal(vals(b.result().w!)[0], (4 * 1 + 8) / 8);
  assert.throws(() => acc.add({ w: Float32Array.of(1) }), (e: unknown) => isEngramError(e, 'InvalidArgument'));
  assert.throws(() => acc.add({ w: Float32Array.from({ length: 6 }, () => Number.NaN) }), (e: unknown) => isEngramError(e, 'InvalidArgument'));
  assert.throws(() => new FisherAccumulator().result(), (e: unknown) => isEngramError(e, 'InvalidArgument'));
});

test('per-task penalty and gradient equal a direct computation over every task', () => {
  const rng = new Rng(2);
  const ewc = new Ewc({ lambda: 3.5, mode: 'per-task' });
  const tasks = ['t0', 't1', 't2'].map((id) => ({ id, anchor: model(rng), fisher: <Record<string, TensorData>>{ 'dense/kernel': f32t(positive(rng, 12), [12]), 'dense/bias': f32t(positive(rng, 4), [4]) } }));
  for (const t of tasks) ewc.consolidate(t.id, t.fisher, t.anchor);
  assert.deepEqual(ewc.tasks, ['t0', 't1', 't2']);
  const theta = model(rng);
  let direct = 0;
  const grad: Record<string, Float64Array> = { 'dense/kernel': new Float64Array(12), 'dense/bias': new Float64Array(4) };
  for (const t of tasks) {
    for (const w of Object.keys(grad)) {
      const f = vals(t.fisher[w]!);
      const a = vals(t.anchor[w]!);
      const v = vals(theta[w]!);
      for (let i = 0; i < f.length; i++) {
        direct += f[i]! * (v[i]! - a[i]!) ** 2;
        grad[w]![i]! += 3.5 * f[i]! * (v[i]! - a[i]!);
      }
    }
  }
  direct *= 3.5 / 2;
  assert.ok(Math.abs(ewc.penalty(theta) - direct) <= 1e-9 * direct);
  const g = ewc.penaltyGradient(theta);
  for (const w of Object.keys(grad)) for (let i = 0; i < grad[w]!.length; i++) assert.ok(Math.abs(g[w]![i]! - grad[w]![i]!) <= 1e-5 * Math.max(1, Math.abs(grad[w]![i]!)));
  // At the last anchor only the earlier tasks pull; at every anchor with lambda 0 nothing does.
  assert.equal(new Ewc({ lambda: 1, mode: 'per-task' }).penalty(theta), 0);
  const terms = ewc.terms();
  assert.equal(terms.length, 3);
  assert.ok(Buffer.from(terms[1]!.anchor['dense/bias']!.data).equals(Buffer.from(tasks[1]!.anchor['dense/bias']!.data)));
  assert.deepEqual([...terms[0]!.fisher['dense/kernel']!.shape], [3, 4]);
});

test('online: F ← γF + F_task, anchor = the latest; penalty from the running term', () => {
  const ewc = new Ewc({ lambda: 2, mode: 'online', gamma: 0.5 });
  const w = (v: number[]): Record<string, TensorData> => ({ w: f32t(Float32Array.from(v), [v.length]) });
  ewc.consolidate('a', w([1, 2]), w([0, 0]));
  ewc.consolidate('b', w([4, 0]), w([1, 1]));
  ewc.consolidate('c', w([0, 2]), w([2, -1]));
  assert.deepEqual(ewc.tasks, ['a', 'b', 'c']);
  const [term] = ewc.terms();
  assert.equal(ewc.terms().length, 1);
  // ((1·0.5 + 4)·0.5 + 0, (2·0.5 + 0)·0.5 + 2) = (2.25, 2.5)
  assert.deepEqual([...vals(term!.fisher.w!)], [2.25, 2.5]);
  assert.deepEqual([...vals(term!.anchor.w!)], [2, -1]);
  const theta = w([3, 1]);
  assert.equal(ewc.penalty(theta), (2 / 2) * (2.25 * 1 + 2.5 * 4));
  assert.deepEqual([...ewc.penaltyGradient(theta).w!], [2 * 2.25 * 1, 2 * 2.5 * 2]);
  assert.throws(() => ewc.consolidate('d', { v: w([1]).w! }, { v: w([1]).w! }), (e: unknown) => isEngramError(e, 'InvalidArgument'));
});

test('namespaces round trip (per-task and online); anchors keep the exact bytes; bad records are FormatError', () => {
  const rng = new Rng(3);
  for (const mode of ['per-task', 'online'] as const) {
    const ewc = new Ewc({ lambda: 7, mode, gamma: 0.9 });
    const anchors = [model(rng), model(rng)];
    ewc.consolidate('first', { 'dense/kernel': f32t(positive(rng, 12), [3, 4]), 'dense/bias': f32t(positive(rng, 4), [4]) }, anchors[0]!);
    ewc.consolidate('second', { 'dense/kernel': f32t(positive(rng, 12), [3, 4]), 'dense/bias': f32t(positive(rng, 4), [4]) }, anchors[1]!);
    const ns = ewc.toNamespaces();
    assert.deepEqual(Object.keys(ns).sort(), mode === 'online' ? ['ewc/online'] : ['ewc/first', 'ewc/second']);
    const last = ns[mode === 'online' ? 'ewc/online' : 'ewc/second']!;
    assert.ok(Buffer.from(last.tensors!['anchor/dense/kernel']!.data).equals(Buffer.from(anchors[1]!['dense/kernel']!.data)));
    const restored = Object.fromEntries(Object.entries(ns).map(([n, v]) => [n, { tensors: v.tensors ?? {}, record: v.record! }]));
    const back = Ewc.fromNamespaces({ ...restored, replay: { tensors: {}, record: null } })!;
    assert.deepEqual(back.tasks, ewc.tasks);
    assert.equal(back.mode, mode);
    const theta = model(rng);
    assert.equal(back.penalty(theta), ewc.penalty(theta));
    assert.deepEqual(back.toNamespaces(), ns);
    const name = Object.keys(restored)[0]!;
    const r = restored[name]!.record as { [k: string]: JsonValue };
    assert.throws(() => Ewc.fromNamespaces({ [name]: { ...restored[name]!, record: { ...r, version: 9 } } }), (e: unknown) => isEngramError(e, 'FormatError'));
    const { ['fisher/dense/bias']: _drop, ...fewer } = restored[name]!.tensors;
    assert.throws(() => Ewc.fromNamespaces({ [name]: { tensors: fewer, record: r } }), (e: unknown) => isEngramError(e, 'FormatError'));
  }
  assert.equal(Ewc.fromNamespaces({}), undefined);
});

test('bad input is InvalidArgument', () => {
  const inv = (e: unknown): boolean => isEngramError(e, 'InvalidArgument');
  assert.throws(() => new Ewc({ lambda: -1, mode: 'per-task' }), inv);
  assert.throws(() => new Ewc({ lambda: 1, mode: 'online', gamma: 0 }), inv);
  const ewc = new Ewc({ lambda: 1, mode: 'per-task' });
  const one = { w: f32t(Float32Array.of(1, 2), [2]) };
  assert.throws(() => ewc.consolidate('a/b', one, one), inv);
  assert.throws(() => ewc.consolidate('a', { w: f32t(Float32Array.of(-1, 2), [2]) }, one), inv);
  assert.throws(() => ewc.consolidate('a', { v: one.w }, one), inv);
  assert.throws(() => ewc.consolidate('a', one, { w: { dtype: 'F64', shape: [1], data: new Uint8Array(8) } }), inv);
  ewc.consolidate('a', one, one);
  assert.throws(() => ewc.consolidate('a', one, one), inv);
  assert.throws(() => ewc.penalty({}), inv);
  assert.throws(() => ewc.penalty({ w: f32t(Float32Array.of(1), [1]) }), inv);
});
