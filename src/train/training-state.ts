/**
 * @module The training-state record: everything a training loop needs to continue exactly where it
 * stopped — weights, optimizer slots in their order, the optimizer's step, RNG states, the data
 * position, the LR schedule, the metrics history, free-form user state and named extension
 * namespaces (a replay buffer, EWC matrices, a task registry). training-snapshot.ts maps it onto a
 * snapshot; this file only declares it.
 */
import type { JsonValue, TensorData } from '../tensor/index.ts';
import type { RngState } from './rng.ts';

/** @deprecated use `TensorData` from engram's tensor types (the same shape: dtype, shape, data). */
export type TensorLike = TensorData;

/** One optimizer slot variable (Adam's `m` of one weight, a momentum buffer, …). */
export interface OptimizerSlot {
  /** Unique among the optimizer's slots, e.g. `dense1/kernel/m`. */
  readonly name: string;
  readonly tensor: TensorData;
}

/**
 * The optimizer's state. `slots` is an explicit list because its order is part of the state:
 * optimizers such as TensorFlow.js's match slots to weights by position, so a resume checks that
 * the optimizer it loads into lists the same slots, in the same order, with the same shapes.
 */
export interface OptimizerState {
  /** The optimizer's kind, for the record (`adam`, `sgd`, …). */
  readonly name?: string;
  /** Iterations done so far (Adam's `t`: bias correction depends on it). */
  readonly step: number;
  readonly slots: readonly OptimizerSlot[];
  /** Hyper-parameters, for the record (learning rate, betas, epsilon, …). */
  readonly hyper?: Readonly<Record<string, JsonValue>>;
}

/** Where the data pipeline is: the next example to read. */
export interface DataPosition {
  /** Completed passes over the data. */
  readonly epoch: number;
  /** Position within the epoch's order (examples or batches, as the loop counts). */
  readonly index: number;
  /** Seed of this epoch's shuffle, so the order can be rebuilt without storing it. */
  readonly shuffleSeed?: number;
  /** Anything else the pipeline needs (a shard, a file offset, …). */
  readonly extra?: JsonValue;
}

/** Metrics measured at one step. */
export interface MetricsRecord {
  readonly step: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/**
 * One extension namespace of a training state: a group of tensors and a JSON record that belong
 * together and are saved, staged, deduplicated and restored like the model's weights. A replay
 * buffer puts its example tensors here and its counters (size, cursor, seen) in `record`; an EWC
 * penalty its Fisher diagonal and anchor weights; a task registry only a record.
 *
 * @example
 * const replay: StateNamespace = {
 *   tensors: { x: { dtype: 'F32', shape: [1024, 784], data: xBytes }, y: { dtype: 'I32', shape: [1024], data: yBytes } },
 *   record: { size: 700, cursor: 700, seen: 5120 },
 * };
 */
export interface StateNamespace {
  /** Tensors by name (non-empty; may contain `/`); saved as `<namespace>/<name>`. */
  readonly tensors?: Readonly<Record<string, TensorData>>;
  /** Any JSON; NaN, ±Infinity and −0 survive (state-json.ts). Saved as blob `<namespace>`. */
  readonly record?: JsonValue;
}

/**
 * The full state of a training run at one step.
 *
 * @example
 * const state: TrainingState = {
 *   model: { 'dense/kernel': Tensor.fromFloat32(w, [784, 128]) },
 *   optimizer: { name: 'adam', step: 1200, slots: [{ name: 'dense/kernel/m', tensor: m }, { name: 'dense/kernel/v', tensor: v }] },
 *   rng: { dropout: rng.getState() },
 *   data: { epoch: 3, index: 4096, shuffleSeed: 17 },
 *   lrSchedule: { kind: 'cosine', lr: 3e-4 },
 * };
 */
export interface TrainingState {
  /** Weights by name; saved as `model/<name>`. */
  readonly model: Readonly<Record<string, TensorData>>;
  readonly optimizer?: OptimizerState;
  /** RNG states by stream name (`init`, `dropout`, `data`, …). */
  readonly rng?: Readonly<Record<string, RngState>>;
  readonly data?: DataPosition;
  /** The learning-rate schedule's state (its step, current rate, plateau counters, …). */
  readonly lrSchedule?: Readonly<Record<string, JsonValue>>;
  readonly metricsHistory?: readonly MetricsRecord[];
  /** Free-form JSON. NaN, ±Infinity and −0 survive (state-json.ts). */
  readonly user?: JsonValue;
  /**
   * Extension namespaces by name (`replay`, `ewc/task-a`, `tasks`): see state-namespace.ts for the
   * grammar. The names model, optimizer, rng, data and train are the state's own.
   */
  readonly namespaces?: Readonly<Record<string, StateNamespace>>;
}

/** A namespace read back from a snapshot: `tensors` is always there (empty for a record-only namespace). */
export interface RestoredNamespace extends StateNamespace {
  readonly tensors: Readonly<Record<string, TensorData>>;
}

/** A training state read back from a snapshot, with where it came from. */
export interface RestoredTrainingState extends TrainingState {
  /** Every namespace the snapshot holds, whether or not the restore asked for it. */
  readonly namespaces?: Readonly<Record<string, RestoredNamespace>>;
  /** The step the snapshot was saved at. */
  readonly step: number;
  /** The snapshot id. */
  readonly snapshotId: string;
  /** The metrics the snapshot was saved with. */
  readonly metrics: Readonly<Record<string, number>>;
}
