/**
 * @module DigitsTrainer: a small TensorFlow.js classifier (64 → 128 → 64 → 10, ReLU, softmax, Adam)
 * trained on the handwritten digits with mini-batches drawn in a seeded shuffled order, whose whole
 * state — weights, Adam's slots and running products, the data RNG, the position in the epoch, the
 * metrics history — is captured as an engram `TrainingState` and restored from one, so a run
 * resumed from a checkpoint continues bit for bit. The demo's training child and
 * bench/train-overhead.ts both train it.
 *
 * Every random number comes from engram's `Rng`: the train/validation split, the initial weights
 * (TF.js's own initialisers draw from an unseeded generator) and each epoch's order. There is no
 * dropout, whose masks TF.js would draw from its own generator.
 */
import * as tf from '@tensorflow/tfjs';
import { captureTrainingState, restoreTrainingState, toTfjsState, toTrainingState } from '../src/integrations/tfjs/index.ts';
import type { JsonValue } from '../src/tensor/index.ts';
import { Rng, type MetricsRecord, type RestoredTrainingState, type TrainingState } from '../src/train/index.ts';
import { CLASSES, FEATURES, loadDigits, type DigitsSplit } from './digits-data.ts';

/** What defines a run; two runs with equal configs compute the same bits. */
export interface DigitsConfig {
  readonly seed: number;
  readonly hidden: readonly number[];
  readonly batch: number;
  readonly learningRate: number;
  /** Examples held out for validation (the rest of the 1,797 train). */
  readonly valCount: number;
}

/** The demo's run: 1,500 training images, 46 batches of 32 per epoch. */
export const DEMO_CONFIG: DigitsConfig = { seed: 2024, hidden: [128, 64], batch: 32, learningRate: 0.002, valCount: 297 };

/** Metrics of one evaluation. */
export interface DigitsMetrics {
  readonly [name: string]: number;
  /** Mean training loss over the steps since the previous evaluation. */
  readonly loss: number;
  readonly val_loss: number;
  readonly val_accuracy: number;
}

const round = (x: number): number => Number(x.toFixed(4));

/**
 * One training run of the digits classifier. Call `await tf.ready()` (or `useWasmBackend()`) first.
 *
 * @example
 * const t = DigitsTrainer.create(DEMO_CONFIG);
 * while (t.step < 600) await t.trainStep();
 * const state = await t.captureState();   // for CheckpointManager.save
 */
export class DigitsTrainer {
  readonly config: DigitsConfig;
  readonly model: tf.LayersModel;
  readonly data: DigitsSplit;
  readonly batchesPerEpoch: number;
  /** Optimizer steps done. */
  step = 0;
  /** Completed passes over the training set. */
  epoch = 0;
  /** The next batch within this epoch's order. */
  index = 0;
  /** The seed this epoch's order was shuffled with (drawn from the data RNG at the epoch's start). */
  shuffleSeed = 0;
  history: MetricsRecord[] = [];
  readonly #dataRng: Rng;
  #order: number[] = [];
  /** Training losses since the last evaluation: part of the state, so a resumed mean is the same. */
  #lossSum = 0;
  #lossCount = 0;
  readonly #valX: tf.Tensor2D;
  readonly #batchX: Float32Array;
  readonly #batchY: Float32Array;

  private constructor(config: DigitsConfig, data: DigitsSplit, initSeed: number, dataSeed: number) {
    this.config = config;
    this.data = data;
    this.batchesPerEpoch = Math.floor(data.train.count / config.batch);
    this.model = buildModel(config);
    initWeights(this.model, new Rng(initSeed));
    this.#dataRng = new Rng(dataSeed);
    this.#startEpoch();
    this.#valX = tf.tensor2d(data.val.x, [data.val.count, FEATURES]);
    this.#batchX = new Float32Array(config.batch * FEATURES);
    this.#batchY = new Float32Array(config.batch * CLASSES);
  }

  /** A fresh run: the split, the initial weights and the data order all follow from `config.seed`. */
  static create(config: DigitsConfig): DigitsTrainer {
    const seeds = new Rng(config.seed);
    const splitSeed = seeds.nextUint32();
    const initSeed = seeds.nextUint32();
    const dataSeed = seeds.nextUint32();
    return new DigitsTrainer(config, loadDigits(splitSeed, config.valCount), initSeed, dataSeed);
  }

  /** One Adam step on the next mini-batch; returns its loss. */
  async trainStep(): Promise<number> {
    const { batch } = this.config;
    const { train } = this.data;
    this.#batchY.fill(0);
    for (let i = 0; i < batch; i++) {
      const src = this.#order[this.index * batch + i]!;
      this.#batchX.set(train.x.subarray(src * FEATURES, (src + 1) * FEATURES), i * FEATURES);
      this.#batchY[i * CLASSES + train.y[src]!] = 1;
    }
    const xs = tf.tensor2d(this.#batchX, [batch, FEATURES]);
    const ys = tf.tensor2d(this.#batchY, [batch, CLASSES]);
    let loss: number;
    try {
      loss = (await this.model.trainOnBatch(xs, ys)) as number;
    } finally {
      tf.dispose([xs, ys]);
    }
    // On the wasm and cpu backends trainOnBatch awaits only resolved promises, so a loop of steps
    // never gives the event loop a turn: I/O callbacks — a background checkpoint's writes, codec
    // workers' replies, signals — would wait until the loop blocks. One turn per step lets them run.
    await tf.nextFrame();
    this.step++;
    this.#lossSum += loss;
    this.#lossCount++;
    if (++this.index === this.batchesPerEpoch) {
      this.epoch++;
      this.index = 0;
      this.#startEpoch();
    }
    return loss;
  }

  /** Loss and accuracy on the validation set. */
  evaluate(): { val_loss: number; val_accuracy: number } {
    const probs = tf.tidy(() => this.model.predict(this.#valX) as tf.Tensor);
    const p = probs.dataSync();
    probs.dispose();
    const { count, y } = this.data.val;
    let loss = 0;
    let correct = 0;
    for (let r = 0; r < count; r++) {
      const row = p.subarray(r * CLASSES, (r + 1) * CLASSES);
      loss -= Math.log(Math.max(row[y[r]!]!, 1e-7));
      let arg = 0;
      for (let c = 1; c < CLASSES; c++) if (row[c]! > row[arg]!) arg = c;
      if (arg === y[r]) correct++;
    }
    return { val_loss: loss / count, val_accuracy: correct / count };
  }

  /** Evaluates, appends the metrics (rounded for people) to the history and starts a new loss window. */
  record(): DigitsMetrics {
    const v = this.evaluate();
    const metrics = { loss: round(this.#lossSum / Math.max(this.#lossCount, 1)), val_loss: round(v.val_loss), val_accuracy: round(v.val_accuracy) };
    this.history.push({ step: this.step, metrics });
    this.#lossSum = 0;
    this.#lossCount = 0;
    return metrics;
  }

  /** The whole training state as of now; the tensors are copies, so training may go on at once. */
  async captureState(): Promise<TrainingState> {
    return toTrainingState(await captureTrainingState(this.model), {
      rng: { data: this.#dataRng.getState() },
      data: { epoch: this.epoch, index: this.index, shuffleSeed: this.shuffleSeed },
      metricsHistory: [...this.history],
      user: { config: this.config as unknown as JsonValue, lossWindow: { sum: this.#lossSum, count: this.#lossCount } },
    });
  }

  /** Continues from a checkpoint of a run with the same config (anything else is refused). */
  async restoreState(s: RestoredTrainingState): Promise<void> {
    const user = s.user as { config?: unknown; lossWindow?: { sum: number; count: number } } | undefined;
    if (JSON.stringify(user?.config) !== JSON.stringify(this.config)) {
      throw new Error(`checkpoint ${s.snapshotId} is of another run configuration: ${JSON.stringify(user?.config)}`);
    }
    if (!s.rng?.['data'] || !s.data || s.data.shuffleSeed === undefined || !user?.lossWindow) {
      throw new Error(`checkpoint ${s.snapshotId} lacks the data RNG, data position or loss window`);
    }
    await restoreTrainingState(this.model, toTfjsState(s));
    if (this.model.optimizer.iterations !== s.step) throw new Error(`checkpoint ${s.snapshotId} is step ${s.step} but its optimizer did ${this.model.optimizer.iterations} steps`);
    this.#dataRng.setState(s.rng['data']);
    this.step = s.step;
    this.epoch = s.data.epoch;
    this.index = s.data.index;
    this.shuffleSeed = s.data.shuffleSeed;
    this.#order = this.#shuffled(this.shuffleSeed);
    this.history = [...(s.metricsHistory ?? [])];
    this.#lossSum = user.lossWindow.sum;
    this.#lossCount = user.lossWindow.count;
  }

  /** Frees the model's and the trainer's tensors. */
  dispose(): void {
    this.model.dispose();
    this.#valX.dispose();
  }

  #startEpoch(): void {
    this.shuffleSeed = this.#dataRng.nextUint32();
    this.#order = this.#shuffled(this.shuffleSeed);
  }

  #shuffled(seed: number): number[] {
    return new Rng(seed).shuffle([...Array(this.data.train.count).keys()]);
  }
}

function buildModel(config: DigitsConfig): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      ...config.hidden.map((units, i) => tf.layers.dense({
        name: `hidden${i + 1}`, units, activation: 'relu', kernelInitializer: 'zeros', ...(i === 0 ? { inputShape: [FEATURES] } : {}),
      })),
      tf.layers.dense({ name: 'output', units: CLASSES, activation: 'softmax', kernelInitializer: 'zeros' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(config.learningRate), loss: 'categoricalCrossentropy' });
  return model;
}

/** Glorot-uniform kernels and zero biases, drawn from `rng` in `model.weights` order. */
export function initWeights(model: tf.LayersModel, rng: Rng): void {
  const values = model.weights.map((w) => {
    const shape = w.read().shape; // a built weight's shape has no unknown (null) dimension
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    if (shape.length === 2) {
      const limit = Math.sqrt(6 / (shape[0]! + shape[1]!));
      for (let i = 0; i < n; i++) v[i] = rng.uniform(-limit, limit);
    }
    return tf.tensor(v, shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}
