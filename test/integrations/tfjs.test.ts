/**
 * engram/tfjs with real TensorFlow.js training on the wasm backend: small dense models trained on
 * the digits in test/fixtures/digits (see its README), saved and restored through engram, compared
 * bit for bit with the model that never stopped.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { isEngramError } from '../../src/errors/index.ts';
import {
  captureTrainingState, engramIO, loadModel, parseEngramUrl, registerEngramRouters, restoreTrainingState, saveModel,
  toTfjsState, toTrainingState, uninterruptedAdamInternals, useWasmBackend, type WasmBackendInfo,
} from '../../src/integrations/tfjs/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { CheckpointManager } from '../../src/train/index.ts';

const BATCH = 32;
let wasm: WasmBackendInfo;
let wasmReads: string[] = [];
let fetches: string[] = [];
let data: { x: tf.Tensor2D; y: tf.Tensor2D };
let root: string;

before(async () => {
  // Watch how the backend gets its binary: every file read and every fetch while it starts.
  const realRead = fs.readFileSync;
  const realFetch = globalThis.fetch;
  fs.readFileSync = ((path: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (String(path).endsWith('.wasm')) wasmReads.push(String(path));
    return (realRead as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readFileSync;
  globalThis.fetch = ((input: unknown) => {
    fetches.push(String(input));
    return Promise.reject(new Error('no network in tests'));
  }) as typeof fetch;
  try {
    wasm = await useWasmBackend();
  } finally {
    fs.readFileSync = realRead;
    globalThis.fetch = realFetch;
  }
  registerEngramRouters();
  registerEngramRouters(); // idempotent: a second registration would make TF.js find two handlers
  data = loadDigits(6 * BATCH);
  root = await mkdtemp(join(tmpdir(), 'engram-tfjs-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The first `rows` digits: 64 pixels scaled to [0, 1] and a one-hot label. */
function loadDigits(rows: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const lines = gunzipSync(fs.readFileSync(new URL('../fixtures/digits/digits.csv.gz', import.meta.url))).toString('utf8').trim().split('\n');
  const x = new Float32Array(rows * 64);
  const y = new Float32Array(rows * 10);
  for (let r = 0; r < rows; r++) {
    const v = lines[r]!.split(',').map(Number);
    for (let i = 0; i < 64; i++) x[r * 64 + i] = v[i]! / 16;
    y[r * 10 + v[64]!] = 1;
  }
  return { x: tf.tensor2d(x, [rows, 64]), y: tf.tensor2d(y, [rows, 10]) };
}

function batch(i: number): { x: tf.Tensor; y: tf.Tensor } {
  const n = data.x.shape[0] / BATCH;
  const start = (i % n) * BATCH;
  return { x: data.x.slice([start, 0], [BATCH, 64]), y: data.y.slice([start, 0], [BATCH, 10]) };
}

function buildModel(optimizer: tf.Optimizer, options: { batchNorm?: boolean } = {}): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 16, inputShape: [64], activation: 'relu' }),
      ...(options.batchNorm ? [tf.layers.batchNormalization()] : []),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Trains steps `from` … `from + n - 1` with trainOnBatch: no shuffling, so two models see the same batches. */
async function train(model: tf.LayersModel, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const { x, y } = batch(i);
    await model.trainOnBatch(x, y);
    tf.dispose([x, y]);
  }
}

async function bytesOf(tensors: readonly tf.Tensor[]): Promise<Buffer[]> {
  return Promise.all(tensors.map(async (t) => Buffer.from((await t.data()).slice().buffer)));
}

async function weightBytes(model: tf.LayersModel): Promise<Buffer[]> {
  return bytesOf(model.weights.map((w) => w.read()));
}

async function optimizerBytes(model: tf.LayersModel): Promise<Buffer[]> {
  const named = await model.optimizer.getWeights();
  const out = await bytesOf(named.map((n) => n.tensor));
  for (const n of named) if (!(n.tensor instanceof tf.Variable)) n.tensor.dispose();
  return out;
}

async function predictBytes(model: tf.LayersModel): Promise<Buffer> {
  const x = data.x.slice([0, 0], [16, 64]);
  const p = model.predict(x) as tf.Tensor;
  const [b] = await bytesOf([p]);
  tf.dispose([x, p]);
  return b!;
}

/** Adam's private running products β1^t, β2^t (optimizer-internals.ts explains why they matter). */
async function accBetas(model: tf.LayersModel): Promise<number[]> {
  const o = model.optimizer as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
  return [(await o.accBeta1.data())[0]!, (await o.accBeta2.data())[0]!];
}

/** One more identical step on both models; then their weights and optimizer slots must be bit-identical. */
async function assertSameContinuation(original: tf.LayersModel, restored: tf.LayersModel, step: number): Promise<void> {
  assert.equal(restored.optimizer.iterations, original.optimizer.iterations);
  assert.deepEqual(await optimizerBytes(restored), await optimizerBytes(original));
  await train(original, step, 1);
  await train(restored, step, 1);
  assert.equal(restored.optimizer.iterations, original.optimizer.iterations);
  assert.deepEqual(await weightBytes(restored), await weightBytes(original));
  assert.deepEqual(await optimizerBytes(restored), await optimizerBytes(original));
}

/** What `Repository.init` itself wrote into each test repository (config.json, gc/reserve). */
const initKeys = new Map<string, ReadonlySet<string>>();

async function repoDir(name: string): Promise<string> {
  const dir = join(root, name);
  await Repository.init(dir);
  initKeys.set(dir, new Set(await objectKeys(dir)));
  return dir;
}

/** Every object key in a repository directory. */
async function objectKeys(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, prefix: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name), `${prefix}${e.name}/`);
      else out.push(`${prefix}${e.name}`);
    }
  };
  await walk(dir, '');
  return out;
}

/** Every object key in a repository directory that init did not write: what a save wrote. */
async function written(dir: string): Promise<string[]> {
  const before = initKeys.get(dir) ?? new Set(['config.json']);
  return (await objectKeys(dir)).filter((k) => !before.has(k));
}

describe('engram/tfjs', () => {
  test('the wasm backend is active and its binary was read from node_modules, never fetched', () => {
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(wasm.backend, 'wasm');
    assert.deepEqual(fetches, []);
    assert.ok(wasmReads.length >= 1, 'the backend read a .wasm file');
    for (const path of wasmReads) {
      assert.ok(Object.values(wasm.wasmPaths).includes(path), `${path} is one of the paths given`);
      assert.match(path, /node_modules\/@tensorflow\/tfjs-backend-wasm\/dist\/tfjs-backend-wasm[-a-z]*\.wasm$/);
      assert.ok(fs.existsSync(path));
    }
  });

  test('model.save(engram://…) then tf.loadLayersModel(engram://…): same predictions, same optimizer, same next step', async () => {
    const dir = join(root, 'momentum');
    const model = buildModel(tf.train.momentum(0.05, 0.9));
    await train(model, 0, 5);
    const url = `engram://${dir}?run=mnist&step=5`;
    assert.match(url, /^engram:\/\/\/.*\?run=mnist&step=5$/);
    await model.save(`${url}&create=true&metric=loss:0.5&tag=candidate`, { includeOptimizer: true });

    const loaded = await tf.loadLayersModel(url);
    const atStep5 = await predictBytes(model);
    assert.deepEqual(await predictBytes(loaded), atStep5);
    assert.equal(loaded.optimizer.getClassName(), 'Momentum');
    assert.equal(loaded.optimizer.iterations, 5);
    await assertSameContinuation(model, loaded, 5);

    // What the snapshot holds: one tensor per weight, the optimizer's in their order, and the JSON parts.
    const repo = await Repository.open(dir);
    const snap = await repo.snapshot('tag:candidate');
    assert.equal(snap.step, 5);
    assert.equal(snap.metrics['loss'], 0.5);
    const names = snap.tensorNames();
    assert.equal(names.filter((n) => n.startsWith('model/')).length, 4);
    assert.ok(names.includes('optimizer/iter'));
    assert.equal(names.filter((n) => n.startsWith('optimizer/')).length, 5);
    assert.equal(snap.tensorInfo(names.find((n) => n.endsWith('/kernel'))!).dtype, 'F32');
    assert.equal(snap.tensorInfo('optimizer/iter').dtype, 'I32');
    const tfjsMeta = snap.meta['tfjs'] as Record<string, unknown>;
    assert.equal(tfjsMeta['optimizer'], 'Momentum');
    assert.equal(tfjsMeta['iterations'], 5);
    const doc = JSON.parse(new TextDecoder().decode(await snap.blob('tfjs/model.json'))) as { artifacts: Record<string, unknown>; weights: { tensor: string }[] };
    assert.equal(doc.artifacts['format'], 'layers-model');
    // The order TF.js gave: model weights, then the optimizer's getWeights() (positional in setWeights()).
    const optimizerNames = await model.optimizer.getWeights();
    assert.deepEqual(doc.weights.map((w) => w.tensor), [
      ...model.weights.map((w) => `model/${w.originalName}`), ...optimizerNames.map((n) => `optimizer/${n.name}`),
    ]);
    for (const n of optimizerNames) if (!(n.tensor instanceof tf.Variable)) n.tensor.dispose();
    assert.equal((doc.artifacts['trainingConfig'] as { loss: string }).loss, 'categorical_crossentropy');
    await repo.close();

    // run without step loads the run's latest snapshot.
    const latest = await tf.loadLayersModel(`engram://${dir}?run=mnist`);
    assert.deepEqual(await predictBytes(latest), atStep5);
  });

  test('Adam: loadModel continues bit for bit; TF.js alone rebuilds Adam\'s running products with pow()', async () => {
    const dir = join(root, 'adam');
    const model = buildModel(tf.train.adam(0.01));
    // 5 steps: a count at which pow(β2, 6) and the running product differ in the last bit, which
    // changes the next step's weights (measured: at 2, 5, 13, 15 and every count from 18 to 40).
    await train(model, 0, 5);
    // The running products TF.js keeps are what engram recomputes from the iteration count.
    const product = uninterruptedAdamInternals(0.9, 0.999, 5);
    assert.deepEqual(await accBetas(model), [product.accBeta1, product.accBeta2]);

    await model.save(`engram://${dir}?run=adam&step=5&create=true`, { includeOptimizer: true });
    const viaTfjs = await tf.loadLayersModel(`engram://${dir}?run=adam&step=5`);
    assert.equal(viaTfjs.optimizer.iterations, 5);
    assert.deepEqual(await optimizerBytes(viaTfjs), await optimizerBytes(model));
    assert.notDeepEqual(await accBetas(viaTfjs), await accBetas(model), 'TF.js 4.22 sets accBeta to pow(beta, t + 1)');

    const restored = await loadModel(`engram://${dir}?ref=adam@5`);
    assert.deepEqual(await accBetas(restored), await accBetas(model));
    assert.deepEqual(await predictBytes(restored), await predictBytes(model));
    await assertSameContinuation(model, restored, 5);

    // saveModel sees the model: it stores the exact running products, and includes the optimizer itself.
    const snap = await saveModel(model, { repo: dir, run: 'adam', step: 6 });
    assert.deepEqual((snap.meta['tfjs'] as Record<string, unknown>)['optimizerInternals'], { accBeta1: (await accBetas(model))[0], accBeta2: (await accBetas(model))[1] });
    const again = await loadModel({ repo: dir, run: 'adam' });
    assert.equal(again.optimizer.iterations, 6);
    await assertSameContinuation(model, again, 6);
  });

  test('captureTrainingState → Repository → restoreTrainingState continues bit for bit, also over a model that trained', async () => {
    const repo = await Repository.open(await repoDir('state'));
    const model = buildModel(tf.train.adam(0.02), { batchNorm: true });
    await train(model, 0, 5); // see the Adam test for why 5
    const state = await captureTrainingState(model);
    assert.equal(state.meta.optimizer?.iterations, 5);
    assert.equal(state.meta.modelWeights.length, 8); // 2 dense × 2, batch norm gamma, beta, moving mean, moving variance
    await repo.save({ run: 'state', step: 5, tensors: state.tensors, meta: { tfjs: state.meta } });

    // Rolling back a model that trained elsewhere: same architecture, other layer names, own Adam state.
    const other = buildModel(tf.train.adam(0.02), { batchNorm: true });
    await train(other, 3, 2);
    const snap = await repo.snapshot('state@5');
    const tensorsBefore = tf.memory().numTensors;
    await restoreTrainingState(other, { tensors: await snap.tensors(), meta: snap.meta['tfjs'] });
    assert.equal(tf.memory().numTensors, tensorsBefore, 'the replaced optimizer slots are disposed');
    assert.deepEqual(await weightBytes(other), await weightBytes(model));
    assert.deepEqual(await accBetas(other), await accBetas(model));
    await assertSameContinuation(model, other, 5);
    await train(model, 6, 2);
    await train(other, 6, 2);
    assert.deepEqual(await weightBytes(other), await weightBytes(model));
    await repo.close();
  });

  test('toTrainingState → CheckpointManager → toTfjsState → restoreTrainingState continues bit for bit; loop state and namespaces pass through', async () => {
    const repo = await Repository.init('memory://', { store: new MemoryStore() });
    const manager = new CheckpointManager(repo, { run: 'bridge', async: true });
    const model = buildModel(tf.train.adam(0.02), { batchNorm: true });
    await train(model, 0, 5);
    const captured = await captureTrainingState(model);
    const replay = { tensors: { x: { dtype: 'F32' as const, shape: [2, 2], data: new Uint8Array(Float32Array.from([1, -0, 3, 4]).buffer) } }, record: { seen: 5 } };
    const loop = { data: { epoch: 0, index: 5 * BATCH }, namespaces: { replay }, user: { note: 'bridge' } };
    const state = toTrainingState(captured, loop);
    assert.deepEqual(Object.keys(state.model), captured.meta.modelWeights);
    assert.equal(state.optimizer!.step, 5);
    await (await manager.save(5, state, { force: true })).durable;

    const restored = await manager.restore('latest');
    await manager.close();
    assert.deepEqual(restored.data, loop.data);
    assert.equal((restored.user as Record<string, unknown>).note, 'bridge');
    assert.deepEqual(restored.namespaces!.replay!.record, replay.record);
    assert.ok(Buffer.from(restored.namespaces!.replay!.tensors.x!.data).equals(Buffer.from(replay.tensors.x.data)));
    const other = buildModel(tf.train.adam(0.02), { batchNorm: true });
    await restoreTrainingState(other, toTfjsState(restored));
    assert.deepEqual(await weightBytes(other), await weightBytes(model));
    assert.deepEqual(await accBetas(other), await accBetas(model));
    await assertSameContinuation(model, other, 5);

    const { ['model/' + captured.meta.modelWeights[0]!]: _dropped, ...fewer } = captured.tensors;
    assert.throws(() => toTrainingState({ meta: captured.meta, tensors: fewer }, {}), (e) => isEngramError(e, 'InvalidArgument') && /has no tensor model\//.test(e.message));
    await repo.close();
  });

  test('restoreTrainingState refuses a state that does not fit, before changing anything', async () => {
    const model = buildModel(tf.train.adam(0.02));
    await train(model, 0, 1);
    const state = await captureTrainingState(model);
    const wider = tf.sequential({ layers: [tf.layers.dense({ units: 17, inputShape: [64] }), tf.layers.dense({ units: 10 })] });
    wider.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });
    const before = await weightBytes(wider);
    await assert.rejects(restoreTrainingState(wider, state), (e) => isEngramError(e, 'InvalidArgument') && /does not fit/.test(e.message));
    assert.deepEqual(await weightBytes(wider), before);
    const sgd = buildModel(tf.train.sgd(0.1));
    await assert.rejects(restoreTrainingState(sgd, state), (e) => isEngramError(e, 'InvalidArgument') && /Adam optimizer/.test(e.message));
    const otherLr = buildModel(tf.train.adam(0.5));
    await assert.rejects(restoreTrainingState(otherLr, state), (e) => isEngramError(e, 'InvalidArgument') && /same config/.test(e.message));
    await assert.rejects(restoreTrainingState(model, { tensors: state.tensors, meta: { format: 'x' } }), (e) => isEngramError(e, 'InvalidArgument'));
  });

  test('a custom loss function is refused with a typed error and nothing is written', async () => {
    const dir = await repoDir('custom-loss');
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 10, inputShape: [64], activation: 'softmax' })] });
    function myLoss(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
      return tf.losses.meanSquaredError(yTrue, yPred);
    }
    model.compile({ optimizer: tf.train.adam(0.01), loss: myLoss });
    await train(model, 0, 1);

    await assert.rejects(model.save(`engram://${dir}?run=r&step=1`, { includeOptimizer: true }), (e) =>
      isEngramError(e, 'Unsupported') && e.data['reason'] === 'custom-loss' && /saved by TF\.js as \{\}/.test(e.message) && /captureTrainingState/.test(e.message));
    await assert.rejects(saveModel(model, `engram://${dir}?run=r&step=1`), (e) =>
      isEngramError(e, 'Unsupported') && e.data['reason'] === 'custom-loss' && /myLoss/.test(e.message));
    assert.deepEqual(await written(dir), []);
    const repo = await Repository.open(dir);
    assert.deepEqual(await repo.log(), []);
    await repo.close();

    // Not even the repository that create=true would have made.
    const fresh = join(root, 'never-created');
    await assert.rejects(model.save(`engram://${fresh}?run=r&create=true`, { includeOptimizer: true }), (e) => isEngramError(e, 'Unsupported'));
    assert.equal(fs.existsSync(fresh), false);

    // TF.js's own loss functions are functions too, and come back as {} all the same.
    model.compile({ optimizer: tf.train.adam(0.01), loss: tf.losses.meanSquaredError });
    await assert.rejects(model.save(`engram://${dir}?run=r`, { includeOptimizer: true }), (e) => isEngramError(e, 'Unsupported') && e.data['reason'] === 'custom-loss');
    assert.deepEqual(await written(dir), []);
  });

  test('custom metrics, unregistered classes and inherited class names are refused; registered classes are kept', async () => {
    const dir = await repoDir('classes');
    const url = `engram://${dir}?run=r`;
    const metricModel = tf.sequential({ layers: [tf.layers.dense({ units: 10, inputShape: [64] })] });
    const myMetric = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.metrics.meanAbsoluteError(a, b);
    metricModel.compile({ optimizer: 'sgd', loss: 'meanSquaredError', metrics: [myMetric] });
    await assert.rejects(metricModel.save(url, { includeOptimizer: true }), (e) => isEngramError(e, 'Unsupported') && e.data['reason'] === 'custom-metric');

    class Doubler extends tf.layers.Layer {
      static className = 'EngramTestDoubler';
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        return tf.tidy(() => tf.mul(Array.isArray(inputs) ? inputs[0]! : inputs, 2));
      }
    }
    const custom = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [64] }), new Doubler({})] });
    custom.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    await assert.rejects(custom.save(url, { includeOptimizer: true }), (e) =>
      isEngramError(e, 'Unsupported') && e.data['reason'] === 'unregistered-class' && /EngramTestDoubler/.test(e.message));
    assert.deepEqual(await written(dir), []);
    tf.serialization.registerClass(Doubler);
    await custom.save(url, { includeOptimizer: true });
    const back = await tf.loadLayersModel(url);
    assert.equal(back.layers[1]!.getClassName(), 'EngramTestDoubler');

    // A subclass without its own className is saved as its parent and would come back as one.
    class Tweaked extends tf.AdamOptimizer {}
    const tweaked = buildModel(new Tweaked(0.01, 0.9, 0.999));
    await assert.rejects(saveModel(tweaked, url), (e) => isEngramError(e, 'Unsupported') && e.data['reason'] === 'inherited-class-name');
    class MySequential extends tf.Sequential {}
    const mySeq = new MySequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    await assert.rejects(saveModel(mySeq, url), (e) => isEngramError(e, 'Unsupported') && e.data['reason'] === 'inherited-class-name');
  });

  test('optimizer state is required unless the model has none', async () => {
    const dir = await repoDir('optimizer');
    const model = buildModel(tf.train.adam(0.01));
    await train(model, 0, 1);
    await assert.rejects(model.save(`engram://${dir}?run=r`), (e) =>
      isEngramError(e, 'InvalidArgument') && /includeOptimizer: true/.test(e.message));
    assert.deepEqual(await written(dir), []);

    const plain = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] });
    await assert.rejects(plain.save(`engram://${dir}?run=plain`), (e) => isEngramError(e, 'InvalidArgument'));
    await plain.save(`engram://${dir}?run=plain&optimizer=optional`);
    const snap = await saveModel(plain, `engram://${dir}?run=plain`); // saveModel sees there is no optimizer
    assert.equal(snap.step, 1);
    const back = await tf.loadLayersModel(`engram://${dir}?run=plain&step=0`);
    assert.equal(back.optimizer, undefined);
    assert.deepEqual(await weightBytes(back), await weightBytes(plain));

    // An open Repository works too, and is left open.
    const repo = await Repository.open(dir);
    await model.save(engramIO({ repo, run: 'r', step: 3, message: 'by handle' }), { includeOptimizer: true });
    assert.equal((await repo.snapshot('r@3')).message, 'by handle');
    await repo.close();
  });

  test('engram:// URL syntax', () => {
    assert.deepEqual(parseEngramUrl('engram:///abs/repo?run=mnist&step=100'), { repo: '/abs/repo', run: 'mnist', step: 100 });
    assert.deepEqual(parseEngramUrl('engram://rel/repo?run=mnist'), { repo: 'rel/repo', run: 'mnist' });
    assert.deepEqual(parseEngramUrl('engram://s3://bucket/prefix?ref=tag:prod'), { repo: 's3://bucket/prefix', ref: 'tag:prod' });
    assert.deepEqual(parseEngramUrl('engram:///my%20repo%3F?run=a%2Bb&tag=x&tag=y&metric=loss:0.25&metric=acc:0.9&parent=none&create=true&optimizer=optional&message=hi%20there'), {
      repo: '/my repo?', run: 'a+b', parent: null, message: 'hi there', tags: ['x', 'y'], metrics: { loss: 0.25, acc: 0.9 }, create: true, requireOptimizer: false,
    });
    assert.deepEqual(parseEngramUrl('ENGRAM:///r?ref=mnist@best:loss~1'), { repo: '/r', ref: 'mnist@best:loss~1' });
    for (const bad of [
      'file:///x?run=a', 'engram://?run=a', 'engram:///x?run=a&stpe=1', 'engram:///x?run=a&step=-1', 'engram:///x?run=a&step=1.5',
      'engram:///x?step=3', 'engram:///x?ref=a@1&run=a', 'engram:///x?run=a&run=b', 'engram://memory://?run=a', 'engram:///x#frag?run=a',
      'engram:///x?run=a&metric=loss', 'engram:///x?run=a&create=yes', 'engram:///x?run=%E0%A4%A', 'engram:///x?run',
    ]) {
      assert.throws(() => parseEngramUrl(bad), (e) => isEngramError(e, 'InvalidArgument'), bad);
    }
  });

  test('a bad engram:// URL fails the save or load with InvalidArgument', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
    await assert.rejects(model.save('engram:///nowhere?run=a&bogus=1'), (e) => isEngramError(e, 'InvalidArgument') && /bogus/.test(e.message));
    await assert.rejects(tf.loadLayersModel('engram:///nowhere?tag=x'), (e) => isEngramError(e, 'InvalidArgument') && /ref=/.test(e.message));
    await assert.rejects(tf.loadLayersModel(`engram://${join(root, 'missing')}?run=a`), (e) => isEngramError(e, 'NotFound'));
  });
});
