/**
 * @module SplitDigitsRun: one continual-learning run on Split-Digits — a small TF.js MLP (wasm
 * backend) trained on the 5 tasks in order by one of four methods (naive fine-tuning, EWC, replay,
 * replay+EWC) in one of two scenarios (class-incremental: one shared 10-way head; task-incremental:
 * the logits masked to the task's two classes) — whose whole state is a `TrainingState`: weights,
 * Adam, the data RNG and position, and the continual namespaces `replay` (engram/continual's
 * ReplayBuffer), `ewc/<task>` (Ewc) and `tasks` (TaskRegistry, with the accuracy matrix R). A run
 * restored from any of its checkpoints continues bit for bit.
 *
 * Every random number comes from engram's `Rng` with a seed derived from `config.seed`: the split,
 * the initial weights, each epoch's order, the buffer's admissions and draws. A task boundary —
 * evaluation on the tasks so far into R, the Fisher and anchor into Ewc, the next task's start —
 * happens inside the step that ends the task, before that step's checkpoint, so every checkpoint
 * is between two steps.
 */
import * as tf from '@tensorflow/tfjs';
import { Ewc, ReplayBuffer, TaskRegistry, type ReplayKind } from '../../src/continual/index.ts';
import {
  captureTrainingState, diagonalFisher, EwcPenalty, modelWeights, replayBatch, restoreTrainingState, toTfjsState, toTrainingState, trainableVariables,
} from '../../src/integrations/tfjs/index.ts';
import type { JsonValue } from '../../src/tensor/index.ts';
import { Rng, type MetricsRecord, type RestoredTrainingState, type StateNamespace, type TrainingState } from '../../src/train/index.ts';
import { CLASSES, FEATURES } from '../digits-data.ts';
import { initWeights } from '../digits-trainer.ts';
import { splitDigits, type DigitsTask } from './split-digits-tasks.ts';

/** The four methods the benchmark compares. */
export type Method = 'naive' | 'ewc' | 'replay' | 'replay-ewc';
/** Class-incremental (one 10-way head) or task-incremental (the task's two outputs). */
export type Scenario = 'class' | 'task';

/** What defines a run: two runs with equal configs compute the same bits. */
export interface SplitDigitsConfig {
  readonly seed: number;
  readonly method: Method;
  readonly scenario: Scenario;
  readonly hidden: readonly number[];
  readonly batch: number;
  readonly learningRate: number;
  /** Passes over each task's training examples. */
  readonly epochsPerTask: number;
  /** Replay buffer capacity (examples) and kind. */
  readonly bufferCapacity: number;
  readonly bufferKind: ReplayKind;
  /** Replayed examples added to each batch once the buffer holds some. */
  readonly replayBatch: number;
  /** EWC's λ and its mode. */
  readonly lambda: number;
  readonly ewcMode: 'per-task' | 'online';
  /** Examples per gradient of the Fisher (1: per-example, the exact diagonal). */
  readonly fisherBatch: number;
  /** Evaluate every task every this many steps into the metrics history (0: only at task boundaries). */
  readonly evalEvery: number;
}

/** The benchmark's settings (bench/continual.ts); the resume test shortens them. */
export const SPLIT_DIGITS_CONFIG: Omit<SplitDigitsConfig, 'seed' | 'method' | 'scenario'> = {
  hidden: [128, 64], batch: 32, learningRate: 0.003, epochsPerTask: 8, bufferCapacity: 200, bufferKind: 'class-balanced', replayBatch: 32,
  lambda: 1000, ewcMode: 'per-task', fisherBatch: 1, evalEvery: 0,
};

const usesReplay = (m: Method): boolean => m === 'replay' || m === 'replay-ewc';
const usesEwc = (m: Method): boolean => m === 'ewc' || m === 'replay-ewc';
/** Added to the logits of classes outside an example's task in the task-incremental scenario. */
const MASKED = -1e9;

/** One Split-Digits run. Call `useWasmBackend()` first. */
export class SplitDigitsRun {
  readonly config: SplitDigitsConfig;
  readonly tasks: readonly DigitsTask[];
  readonly model: tf.LayersModel;
  /** Optimizer steps done. */
  step = 0;
  /** The task being trained (tasks.length once the run is over). */
  taskIndex = 0;
  epoch = 0;
  /** The next batch within this epoch's order. */
  index = 0;
  shuffleSeed = 0;
  /** Accuracy on every task, at every evaluation (`acc/<task id>`). */
  history: MetricsRecord[] = [];
  buffer: ReplayBuffer | undefined;
  ewc: Ewc | undefined;
  registry: TaskRegistry;
  readonly #dataRng: Rng;
  #order: number[] = [];
  #penalty: EwcPenalty | undefined;
  readonly #vars: tf.Variable[];
  readonly #testX: tf.Tensor2D[];

  constructor(config: SplitDigitsConfig) {
    this.config = config;
    const { splitSeed, initSeed, dataSeed, bufferSeed } = runSeeds(config.seed);
    this.tasks = splitDigits(splitSeed);
    this.model = buildModel(config);
    initWeights(this.model, new Rng(initSeed));
    this.#vars = [...trainableVariables(this.model).values()];
    this.#dataRng = new Rng(dataSeed);
    this.buffer = usesReplay(config.method) ? new ReplayBuffer({
      kind: config.bufferKind, capacity: config.bufferCapacity, seed: bufferSeed, labelField: 'y',
      fields: [{ name: 'x', dtype: 'F32', shape: [FEATURES] }, { name: 'y', dtype: 'I32', shape: [] }],
    }) : undefined;
    this.ewc = usesEwc(config.method) ? new Ewc({ lambda: config.lambda, mode: config.ewcMode }) : undefined;
    this.registry = new TaskRegistry();
    this.#testX = this.tasks.map((t) => tf.tensor2d(t.test.x, [t.test.count, FEATURES]));
    this.#startTask();
  }

  /** Whether every task has been trained. */
  get done(): boolean {
    return this.taskIndex >= this.tasks.length;
  }

  /** Batches per epoch of the current task. */
  get batchesPerEpoch(): number {
    return Math.floor(this.tasks[this.taskIndex]!.train.count / this.config.batch);
  }

  /** The step at which each task ends (its last step; the last one is the run's total). */
  get taskEndSteps(): number[] {
    return endSteps(this.tasks, this.config);
  }

  /**
   * One Adam step on the next batch of the current task (plus replayed examples), then, in the
   * first epoch, the batch offered to the buffer; at the task's last step, the task boundary.
   * Returns the loss and whether a task ended.
   */
  async trainStep(): Promise<{ loss: number; boundary: boolean }> {
    if (this.done) throw new Error('the run has trained every task');
    const { batch } = this.config;
    const task = this.tasks[this.taskIndex]!;
    const bx = new Float32Array(batch * FEATURES);
    const by = new Int32Array(batch);
    for (let i = 0; i < batch; i++) {
      const src = this.#order[this.index * batch + i]!;
      bx.set(task.train.x.subarray(src * FEATURES, (src + 1) * FEATURES), i * FEATURES);
      by[i] = task.train.y[src]!;
    }
    let xs: tf.Tensor = tf.tensor2d(bx, [batch, FEATURES]);
    let ys: tf.Tensor = tf.tensor1d(by, 'int32');
    const replayed = this.buffer ? replayBatch(this.buffer, this.config.replayBatch) : undefined;
    if (replayed) {
      const [x2, y2] = [tf.concat([xs, replayed['x']!]), tf.concat([ys, replayed['y']!])];
      tf.dispose([xs, ys, ...Object.values(replayed)]);
      [xs, ys] = [x2, y2];
    }
    let loss: number;
    try {
      const cost = this.model.optimizer.minimize(() => {
        const ce = crossEntropy(this.#logits(xs, ys), ys);
        return this.#penalty && !this.#penalty.empty ? tf.add(ce, this.#penalty.loss()) as tf.Scalar : ce;
      }, true, this.#vars)!;
      loss = cost.dataSync()[0]!;
      cost.dispose();
    } finally {
      tf.dispose([xs, ys]);
    }
    // One event-loop turn per step, so a background checkpoint's I/O and signals get to run.
    await tf.nextFrame();
    if (this.buffer && this.epoch === 0) {
      this.buffer.admit({ x: { dtype: 'F32', shape: [batch, FEATURES], data: new Uint8Array(bx.buffer) }, y: { dtype: 'I32', shape: [batch], data: new Uint8Array(by.buffer) } });
    }
    this.step++;
    let boundary = false;
    if (++this.index === this.batchesPerEpoch) {
      this.index = 0;
      if (++this.epoch === this.config.epochsPerTask) {
        await this.#endTask();
        boundary = true;
      } else {
        this.#startEpoch();
      }
    }
    if (!boundary && this.config.evalEvery > 0 && this.step % this.config.evalEvery === 0) this.#recordCurve();
    return { loss, boundary };
  }

  /** Accuracy on task `j`'s test examples (argmax over all 10 outputs, or over the task's 2). */
  accuracy(j: number): number {
    const task = this.tasks[j]!;
    const logits = tf.tidy(() => this.model.predict(this.#testX[j]!) as tf.Tensor);
    const p = logits.dataSync();
    logits.dispose();
    const allowed = this.config.scenario === 'task' ? task.classes : [...Array(CLASSES).keys()];
    let correct = 0;
    for (let r = 0; r < task.test.count; r++) {
      let arg = allowed[0]!;
      for (const c of allowed) if (p[r * CLASSES + c]! > p[r * CLASSES + arg]!) arg = c;
      if (arg === task.test.y[r]) correct++;
    }
    return correct / task.test.count;
  }

  /** The whole state as of now, continual namespaces included. */
  async captureState(): Promise<TrainingState> {
    const namespaces: Record<string, StateNamespace> = { tasks: this.registry.toNamespace() };
    if (this.buffer) namespaces['replay'] = this.buffer.toNamespace();
    if (this.ewc) Object.assign(namespaces, this.ewc.toNamespaces());
    return toTrainingState(await captureTrainingState(this.model), {
      rng: { data: this.#dataRng.getState() },
      data: { epoch: this.epoch, index: this.index, shuffleSeed: this.shuffleSeed, extra: { task: this.taskIndex } },
      metricsHistory: [...this.history],
      user: { config: this.config as unknown as JsonValue },
      namespaces,
    });
  }

  /** Continues from a checkpoint of a run with the same config (anything else is refused). */
  async restoreState(s: RestoredTrainingState): Promise<void> {
    const user = s.user as { config?: unknown } | undefined;
    if (JSON.stringify(user?.config) !== JSON.stringify(this.config)) throw new Error(`checkpoint ${s.snapshotId} is of another run configuration: ${JSON.stringify(user?.config)}`);
    const extra = s.data?.extra as { task?: number } | undefined;
    const ns = s.namespaces ?? {};
    if (!s.rng?.['data'] || !s.data || s.data.shuffleSeed === undefined || typeof extra?.task !== 'number' || !ns['tasks']) {
      throw new Error(`checkpoint ${s.snapshotId} lacks the data RNG, data position or task registry`);
    }
    await restoreTrainingState(this.model, toTfjsState(s));
    this.#dataRng.setState(s.rng['data']);
    this.step = s.step;
    this.taskIndex = extra.task;
    this.epoch = s.data.epoch;
    this.index = s.data.index;
    this.shuffleSeed = s.data.shuffleSeed;
    this.#order = this.done ? [] : this.#shuffled(this.shuffleSeed);
    this.history = [...(s.metricsHistory ?? [])];
    this.registry = TaskRegistry.fromNamespace(ns['tasks']);
    if (this.buffer) {
      if (!ns['replay']) throw new Error(`checkpoint ${s.snapshotId} has no replay namespace`);
      this.buffer = ReplayBuffer.fromNamespace(ns['replay']);
    }
    if (this.ewc) {
      this.ewc = Ewc.fromNamespaces(ns) ?? new Ewc({ lambda: this.config.lambda, mode: this.config.ewcMode });
      this.#rebuildPenalty();
    }
  }

  /** Frees the model's and the run's tensors. */
  dispose(): void {
    this.#penalty?.dispose();
    this.model.dispose();
    tf.dispose(this.#testX);
  }

  /** Logits, with the classes outside each example's task masked off in the task-incremental scenario. */
  #logits(xs: tf.Tensor, ys: tf.Tensor): tf.Tensor {
    const logits = this.model.apply(xs, { training: true }) as tf.Tensor;
    if (this.config.scenario === 'class') return logits;
    // An example's task follows from its label here (task t holds classes 2t and 2t+1).
    const sameTask = tf.equal(tf.floorDiv(tf.range(0, CLASSES, 1, 'int32').expandDims(0), 2), tf.floorDiv(ys, 2).expandDims(1));
    return tf.where(sameTask, logits, tf.fill(logits.shape, MASKED));
  }

  async #endTask(): Promise<void> {
    const task = this.tasks[this.taskIndex]!;
    for (let j = 0; j <= this.taskIndex; j++) this.registry.recordAccuracy(task.id, this.tasks[j]!.id, this.accuracy(j));
    this.#recordCurve();
    if (this.ewc) {
      const x = tf.tensor2d(task.train.x, [task.train.count, FEATURES]);
      try {
        const fisher = await diagonalFisher(this.model, { x, y: task.train.y }, {
          batchSize: this.config.fisherBatch, ...(this.config.scenario === 'task' ? { classes: task.classes } : {}),
        });
        this.ewc.consolidate(task.id, fisher, await modelWeights(this.model, { trainableOnly: true }));
      } finally {
        x.dispose();
      }
      this.#rebuildPenalty();
    }
    this.taskIndex++;
    this.epoch = 0;
    this.index = 0;
    if (!this.done) this.#startTask();
  }

  #recordCurve(): void {
    const metrics: Record<string, number> = {};
    this.tasks.forEach((t, j) => (metrics[`acc/${t.id}`] = this.accuracy(j)));
    this.history.push({ step: this.step, metrics });
  }

  #rebuildPenalty(): void {
    this.#penalty?.dispose();
    this.#penalty = this.ewc && this.ewc.tasks.length > 0 ? new EwcPenalty(this.model, this.ewc.terms(), this.config.lambda) : undefined;
  }

  #startTask(): void {
    const t = this.tasks[this.taskIndex]!;
    this.registry.addTask({ id: t.id, classes: t.classes });
    this.#startEpoch();
  }

  #startEpoch(): void {
    this.shuffleSeed = this.#dataRng.nextUint32();
    this.#order = this.#shuffled(this.shuffleSeed);
  }

  #shuffled(seed: number): number[] {
    return new Rng(seed).shuffle([...Array(this.tasks[this.taskIndex]!.train.count).keys()]);
  }
}

/** The seeds of a run's random streams, drawn from its seed. */
function runSeeds(seed: number): { splitSeed: number; initSeed: number; dataSeed: number; bufferSeed: number } {
  const seeds = new Rng(seed);
  return { splitSeed: seeds.nextUint32(), initSeed: seeds.nextUint32(), dataSeed: seeds.nextUint32(), bufferSeed: seeds.nextUint32() };
}

function endSteps(tasks: readonly DigitsTask[], config: SplitDigitsConfig): number[] {
  let n = 0;
  return tasks.map((t) => (n += config.epochsPerTask * Math.floor(t.train.count / config.batch)));
}

/**
 * The step at which each task of a run of `config` ends, without building the run: a TF.js model
 * built in a process names its variables after the ones built before it (`kernel_1`), and
 * optimizer slots are named after the variables, so a process that must save the very names of a
 * fresh one builds no other model first.
 */
export function taskEndSteps(config: SplitDigitsConfig): number[] {
  return endSteps(splitDigits(runSeeds(config.seed).splitSeed), config);
}

/** Mean cross-entropy of integer labels under logits. */
function crossEntropy(logits: tf.Tensor, ys: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(ys as tf.Tensor1D, CLASSES)), 1))) as tf.Scalar;
}

/** The MLP: ReLU hidden layers and a linear 10-way output (logits), Adam. */
function buildModel(config: SplitDigitsConfig): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      ...config.hidden.map((units, i) => tf.layers.dense({
        name: `hidden${i + 1}`, units, activation: 'relu', kernelInitializer: 'zeros', ...(i === 0 ? { inputShape: [FEATURES] } : {}),
      })),
      tf.layers.dense({ name: 'output', units: CLASSES, kernelInitializer: 'zeros' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(config.learningRate), loss: 'categoricalCrossentropy' });
  return model;
}
