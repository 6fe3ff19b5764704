/**
 * engram/tfjs's continual-learning helpers on real TF.js models (wasm backend) and the real digits
 * (demo/data/): the diagonal Fisher against the closed-form gradient of a softmax layer, the EWC
 * penalty and its autodiff gradient against engram/continual's plain-tensor Ewc, weights as plain
 * tensors equal to the training-state bridge's bytes, and replay batches as tf tensors.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Ewc, ReplayBuffer } from '../../src/continual/index.ts';
import { isEngramError } from '../../src/errors/index.ts';
import {
  captureTrainingState, diagonalFisher, EwcPenalty, modelWeights, replayBatch, toTrainingState, trainableVariables, useWasmBackend,
} from '../../src/integrations/tfjs/index.ts';
import type { TensorData } from '../../src/tensor/index.ts';
import { Rng } from '../../src/train/index.ts';
import { loadDigits } from '../../demo/digits-data.ts';

const N = 40;
let x: Float32Array;
let y: Int32Array;

before(async () => {
  await useWasmBackend();
  const { train } = loadDigits(7, 100);
  x = train.x.slice(0, N * 64);
  y = train.y.slice(0, N);
});

const f32 = (t: TensorData): Float32Array => new Float32Array(t.data.slice().buffer);
const plain = (v: Float32Array, shape: number[]): TensorData => ({ dtype: 'F32', shape, data: new Uint8Array(v.slice().buffer) });

/** A softmax regression 64 → 10 (logits out) with seeded weights, so its Fisher has a closed form. */
function softmaxModel(seed: number, hidden = 0): tf.LayersModel {
  const layers = hidden > 0 ? [tf.layers.dense({ units: hidden, activation: 'relu', inputShape: [64], name: 'h' }), tf.layers.dense({ units: 10, name: 'out' })]
    : [tf.layers.dense({ units: 10, inputShape: [64], name: 'out' })];
  const model = tf.sequential({ layers });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const r = new Rng(seed);
  const values = model.weights.map((w) => {
    const n = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    return tf.tensor(Float32Array.from({ length: n }, () => r.uniform(-0.3, 0.3)), w.shape as number[]);
  });
  model.setWeights(values);
  tf.dispose(values);
  return model;
}

/** The closed form: ∂ log softmax(z)_y / ∂W[i,c] = x_i (1[c=y] − p_c), ∂/∂b_c = 1[c=y] − p_c, over `classes`. */
function closedFormFisher(model: tf.LayersModel, classes: readonly number[]): { kernel: Float64Array; bias: Float64Array } {
  const logits = (model.predict(tf.tensor2d(x, [N, 64])) as tf.Tensor).dataSync();
  const kernel = new Float64Array(64 * 10);
  const bias = new Float64Array(10);
  for (let r = 0; r < N; r++) {
    const z = classes.map((c) => logits[r * 10 + c]!);
    const zmax = Math.max(...z);
    const e = z.map((v) => Math.exp(v - zmax));
    const sum = e.reduce((a, b) => a + b, 0);
    classes.forEach((c, k) => {
      const g = (c === y[r] ? 1 : 0) - e[k]! / sum;
      bias[c]! += (g * g) / N;
      for (let i = 0; i < 64; i++) kernel[i * 10 + c]! += ((x[r * 64 + i]! * g) ** 2) / N;
    });
  }
  return { kernel, bias };
}

function assertClose(got: Float32Array, want: Float64Array, label: string): void {
  assert.equal(got.length, want.length, label);
  const scale = Math.max(...want);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-4 * scale + 1e-7, `${label}[${i}]: ${got[i]} vs ${want[i]}`);
}

test('diagonalFisher: per-example empirical Fisher of a softmax layer equals its closed form, over all outputs and over a task head', async () => {
  const model = softmaxModel(1);
  const xs = tf.tensor2d(x, [N, 64]);
  const full = await diagonalFisher(model, { x: xs, y });
  assert.deepEqual(Object.keys(full), ['out/kernel', 'out/bias']);
  assert.deepEqual(full['out/kernel']!.shape, [64, 10]);
  const want = closedFormFisher(model, [...Array(10).keys()]);
  assertClose(f32(full['out/kernel']!), want.kernel, 'kernel');
  assertClose(f32(full['out/bias']!), want.bias, 'bias');

  // A task-incremental head: labels 0 and 1 only, likelihood over outputs {0, 1}; the other columns get no Fisher.
  const rows = [...Array(N).keys()].filter((r) => y[r]! < 2);
  assert.ok(rows.length >= 4, 'the sample has digits 0 and 1');
  const sub = { x: tf.tensor2d(Float32Array.from(rows.flatMap((r) => [...x.subarray(r * 64, r * 64 + 64)])), [rows.length, 64]), y: Int32Array.from(rows, (r) => y[r]!) };
  const head = await diagonalFisher(model, sub, { classes: [0, 1] });
  const bias = f32(head['out/bias']!);
  for (let c = 2; c < 10; c++) assert.equal(bias[c], 0);
  assert.ok(bias[0]! > 0 && Math.abs(bias[0]! - bias[1]!) < 1e-6, 'with two classes both biases get the same squared gradient');

  // Same inputs, same bytes; a plain-tensor input gives the same bytes as a tf one.
  const again = await diagonalFisher(model, { x: plain(x, [N, 64]), y: { dtype: 'I32', shape: [N], data: new Uint8Array(y.slice().buffer) } });
  for (const k of Object.keys(full)) assert.ok(Buffer.from(again[k]!.data).equals(Buffer.from(full[k]!.data)), k);
  tf.dispose([xs, sub.x]);
  model.dispose();
});

test('diagonalFisher: sampled labels follow the seed; batches approximate the per-example diagonal; bad input is InvalidArgument', async () => {
  const model = softmaxModel(2, 16);
  const xs = tf.tensor2d(x, [N, 64]);
  const a = await diagonalFisher(model, { x: xs, y }, { labels: 'sampled', rng: new Rng(5) });
  const b = await diagonalFisher(model, { x: xs, y }, { labels: 'sampled', rng: new Rng(5) });
  const c = await diagonalFisher(model, { x: xs, y }, { labels: 'sampled', rng: new Rng(6) });
  assert.deepEqual(Object.keys(a), [...trainableVariables(model).keys()]);
  for (const k of Object.keys(a)) assert.ok(Buffer.from(a[k]!.data).equals(Buffer.from(b[k]!.data)), k);
  assert.ok(Object.keys(a).some((k) => !Buffer.from(a[k]!.data).equals(Buffer.from(c[k]!.data))), 'another seed draws other labels');
  // Batches of 4: same total scale as per-example (sums of squared batch gradients over n).
  const exact = await diagonalFisher(model, { x: xs, y });
  const batched = await diagonalFisher(model, { x: xs, y }, { batchSize: 4 });
  const total = (r: Record<string, TensorData>): number => Object.values(r).reduce((s, t) => s + f32(t).reduce((p, q) => p + q, 0), 0);
  assert.ok(total(batched) > 0 && total(batched) < 4 * total(exact), `batched ${total(batched)} vs exact ${total(exact)}`);

  const code = (e: unknown): string => (isEngramError(e) ? e.code : String(e));
  await assert.rejects(diagonalFisher(model, { x: xs, y: y.slice(1) }), (e) => code(e) === 'InvalidArgument');
  await assert.rejects(diagonalFisher(model, { x: xs, y }, { classes: [0, 1] }), (e) => code(e) === 'InvalidArgument' && /label \d is not among/.test((e as Error).message));
  await assert.rejects(diagonalFisher(model, { x: xs, y }, { labels: 'sampled' }), (e) => code(e) === 'InvalidArgument');
  await assert.rejects(diagonalFisher(model, { x: xs, y }, { batchSize: 0 }), (e) => code(e) === 'InvalidArgument');
  await assert.rejects(diagonalFisher(model, { x: xs, y }, { classes: [3, 12] }), (e) => code(e) === 'InvalidArgument');
  xs.dispose();
  model.dispose();
});

test('modelWeights: the anchor is the bytes and names the training-state bridge saves as model/<name>', async () => {
  const model = softmaxModel(3, 16);
  const weights = await modelWeights(model);
  const state = toTrainingState(await captureTrainingState(model), {});
  assert.deepEqual(Object.keys(weights), Object.keys(state.model));
  for (const [k, t] of Object.entries(weights)) {
    assert.deepEqual(t.shape, state.model[k]!.shape);
    assert.ok(Buffer.from(t.data).equals(Buffer.from(state.model[k]!.data)), k);
  }
  assert.deepEqual(Object.keys(await modelWeights(model, { trainableOnly: true })), ['h/kernel', 'h/bias', 'out/kernel', 'out/bias']);
  model.dispose();
});

test('EwcPenalty: λ/2 Σ F (θ − θ*)² and its autodiff gradient equal engram/continual Ewc on the same plain tensors', async () => {
  const model = softmaxModel(4, 16);
  const xs = tf.tensor2d(x, [N, 64]);
  const lambda = 250;
  const ewc = new Ewc({ lambda, mode: 'per-task' });
  // Two tasks: each a Fisher on the model's own gradients and the weights at that time as anchor.
  const ys = tf.oneHot(tf.tensor1d(y, 'int32'), 10);
  for (const task of ['a', 'b']) {
    ewc.consolidate(task, await diagonalFisher(model, { x: xs, y }), await modelWeights(model, { trainableOnly: true }));
    await model.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0, shuffle: false });
  }
  const weights = await modelWeights(model, { trainableOnly: true });
  const penalty = new EwcPenalty(model, ewc.terms(), lambda);
  const value = penalty.loss();
  const want = ewc.penalty(weights);
  assert.ok(want > 0);
  assert.ok(Math.abs(value.dataSync()[0]! - want) <= 1e-4 * want, `tf ${value.dataSync()[0]} vs Ewc ${want}`);
  const vars = trainableVariables(model);
  const { grads } = tf.variableGrads(() => penalty.loss(), [...vars.values()]);
  const wantGrad = ewc.penaltyGradient(weights);
  for (const [name, v] of vars) {
    const got = grads[v.name]!.dataSync();
    const exp = wantGrad[name]!;
    const scale = Math.max(...exp.map(Math.abs));
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - exp[i]!) <= 1e-4 * scale + 1e-9, `${name}[${i}]: ${got[i]} vs ${exp[i]}`);
  }
  // No terms: an empty penalty of 0.
  const none = new EwcPenalty(model, [], lambda);
  assert.equal(none.empty, true);
  assert.equal(none.loss().dataSync()[0], 0);

  const code = (f: () => unknown): string => {
    try {
      f();
      return 'no error';
    } catch (e) {
      return isEngramError(e) ? e.code : String(e);
    }
  };
  const [term] = ewc.terms();
  assert.equal(code(() => new EwcPenalty(model, [{ fisher: { 'nope/kernel': term!.fisher['out/bias']! }, anchor: term!.anchor }], 1)), 'InvalidArgument');
  assert.equal(code(() => new EwcPenalty(model, [{ fisher: { 'out/bias': term!.fisher['h/bias']! }, anchor: { 'out/bias': term!.anchor['h/bias']! } }], 1)), 'InvalidArgument');
  assert.equal(code(() => new EwcPenalty(model, [{ fisher: { 'out/bias': term!.fisher['out/bias']! }, anchor: {} }], 1)), 'InvalidArgument');
  assert.equal(code(() => new EwcPenalty(model, ewc.terms(), -1)), 'InvalidArgument');
  tf.dispose([value, ...Object.values(grads), xs, ys]);
  penalty.dispose();
  none.dispose();
  model.dispose();
});

test('replayBatch: a ReplayBuffer sample as tf tensors, the buffer RNG advancing as sample() does', async () => {
  const fields = [{ name: 'x', dtype: 'F32' as const, shape: [64] }, { name: 'y', dtype: 'I32' as const, shape: [] }];
  const a = new ReplayBuffer({ kind: 'reservoir', capacity: 16, seed: 9, fields });
  const b = new ReplayBuffer({ kind: 'reservoir', capacity: 16, seed: 9, fields });
  assert.equal(replayBatch(a, 8), undefined, 'an empty buffer gives no batch');
  const batch = { x: plain(x, [N, 64]), y: { dtype: 'I32' as const, shape: [N], data: new Uint8Array(y.slice().buffer) } };
  a.admit(batch);
  b.admit(batch);
  for (let round = 0; round < 3; round++) {
    const got = replayBatch(a, 8)!;
    const want = b.sample(8);
    assert.deepEqual(got['x']!.shape, [8, 64]);
    assert.equal(got['y']!.dtype, 'int32');
    assert.deepEqual([...got['x']!.dataSync()], [...f32(want['x']!)]);
    assert.deepEqual([...got['y']!.dataSync()], [...new Int32Array(want['y']!.data.slice().buffer)]);
    tf.dispose(Object.values(got));
  }
  assert.throws(() => replayBatch(a, 0), (e) => isEngramError(e, 'InvalidArgument'));
});
