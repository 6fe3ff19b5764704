/**
 * @module The full training state of a TF.js LayersModel as plain data: its weights and its
 * optimizer's state, so that a checkpoint manager can store it and training resumes bit for bit.
 *
 * Restoring is positional (`model.weights` order, `optimizer.getWeights()` order), with dtype and
 * shape checked, because TF.js names layers with a per-process counter (`dense_Dense3`), so the same
 * architecture built again has other names; the captured names are kept for diagnostics.
 */
import * as tf from '@tensorflow/tfjs';
import { EngramError } from '../../errors/index.ts';
import type { JsonValue, TensorData } from '../../tensor/index.ts';
import { parseOptimizerInternals, readOptimizerInternals, writeOptimizerInternals, type OptimizerInternals } from './optimizer-internals.ts';
import { tensorBytes, toTfTensor } from './tfjs-dtype.ts';

const STATE_FORMAT = 'engram.tfjs-training-state';

/** What `Optimizer.getWeights()` returns an array of (TF.js does not export the type by name). */
type NamedTensor = Awaited<ReturnType<tf.Optimizer['getWeights']>>[number];

/** What {@link captureTrainingState} records besides tensor bytes; plain JSON, to be stored as snapshot meta. */
export type TrainingStateMeta = {
  readonly format: typeof STATE_FORMAT;
  readonly version: 1;
  /** Weight names in `model.weights` order; tensor `model/<name>` holds each. */
  readonly modelWeights: readonly string[];
  /** The optimizer's class, config, iteration count and weights, or null for a model never compiled. */
  readonly optimizer: null | {
    readonly className: string;
    readonly config: JsonValue;
    readonly iterations: number;
    /** Weight names in `getWeights()` order (positional in `setWeights()`); tensor `optimizer/<name>` holds each. */
    readonly weights: readonly string[];
    /** State `getWeights()` leaves out (Adam's running products), exact; null when there is none. */
    readonly internals: OptimizerInternals | null;
  };
};

/** A model's training state: tensors by name (`model/…`, `optimizer/…`) and the meta that orders them. */
export interface TrainingState {
  readonly tensors: Readonly<Record<string, TensorData>>;
  readonly meta: TrainingStateMeta;
}

/** Tensors to restore from: a record, or the Map that `Snapshot.tensors()` returns. */
export type TensorSource = ReadonlyMap<string, TensorData> | Readonly<Record<string, TensorData>>;

/**
 * Captures a LayersModel's weights (trainable and not, e.g. batch-norm statistics) and its
 * optimizer's state: the iteration count, every slot TF.js exposes through `getWeights()` (Adam's
 * first and second moments, momentum accumulators, …) and the hidden running products of Adam.
 * The bytes are copies; the model can keep training while they are saved.
 *
 * @example
 * const state = await captureTrainingState(model);
 * await repo.save({ run: 'mnist', step, tensors: state.tensors, meta: { tfjs: state.meta } });
 */
export async function captureTrainingState(model: tf.LayersModel): Promise<TrainingState> {
  const tensors: Record<string, TensorData> = {};
  const modelWeights: string[] = [];
  for (const w of model.weights) {
    const key = `model/${w.originalName}`;
    if (Object.hasOwn(tensors, key)) throw duplicate('model', w.originalName);
    tensors[key] = await tensorBytes(w.read(), w.originalName);
    modelWeights.push(w.originalName);
  }
  let optimizer: TrainingStateMeta['optimizer'] = null;
  const opt = model.optimizer;
  if (opt != null) {
    const named = await optimizerWeights(opt);
    const weights: string[] = [];
    try {
      for (const { name, tensor } of named) {
        const key = `optimizer/${name}`;
        if (Object.hasOwn(tensors, key)) throw duplicate('optimizer', name);
        tensors[key] = await tensorBytes(tensor, name);
        weights.push(name);
      }
    } finally {
      disposeFresh(named);
    }
    optimizer = {
      className: opt.getClassName(),
      config: opt.getConfig() as JsonValue,
      iterations: opt.iterations,
      weights,
      internals: await readOptimizerInternals(opt),
    };
  }
  return { tensors, meta: { format: STATE_FORMAT, version: 1, modelWeights, optimizer } };
}

/**
 * Restores a state from {@link captureTrainingState} into a model of the same architecture, compiled
 * with an optimizer of the same class and config: afterwards training continues exactly as if it had
 * never stopped. `meta` may come straight from snapshot meta (it is validated). Throws
 * `InvalidArgument` for a mismatch (count, dtype or shape of weights, optimizer class or config),
 * before changing anything.
 *
 * @example
 * const snap = await repo.snapshot('mnist@latest');
 * await restoreTrainingState(model, { tensors: await snap.tensors(), meta: snap.meta['tfjs'] });
 */
export async function restoreTrainingState(model: tf.LayersModel, state: { readonly tensors: TensorSource; readonly meta: unknown }): Promise<void> {
  const meta = parseMeta(state.meta);
  const get = (name: string): TensorData => {
    const t = state.tensors instanceof Map ? state.tensors.get(name) : (state.tensors as Readonly<Record<string, TensorData>>)[name];
    if (!t) throw new EngramError('InvalidArgument', `the training state has no tensor ${name}`, { tensor: name });
    return t;
  };
  const targets = model.weights;
  if (targets.length !== meta.modelWeights.length) {
    throw new EngramError('InvalidArgument', `the training state has ${meta.modelWeights.length} model weights, model ${model.name} has ${targets.length}`, {
      model: model.name,
    });
  }
  const values = meta.modelWeights.map((name, i) => {
    const t = get(`model/${name}`);
    const target = targets[i]!;
    if (t.shape.join(',') !== target.shape.join(',') || toEngramName(target.dtype) !== t.dtype) {
      throw new EngramError('InvalidArgument',
        `weight ${i} of the training state (${name}, ${t.dtype}[${t.shape.join(', ')}]) does not fit weight ${target.originalName} of model ` +
        `${model.name} (${target.dtype}[${target.shape.join(', ')}])`, { weight: name, target: target.originalName });
    }
    return t;
  });
  const opt = model.optimizer;
  const savedOpt = meta.optimizer;
  if (savedOpt !== null) {
    if (opt == null) throw new EngramError('InvalidArgument', `the training state has optimizer state; compile model ${model.name} with a ${savedOpt.className} optimizer first`);
    if (opt.getClassName() !== savedOpt.className) {
      throw new EngramError('InvalidArgument', `the training state is of a ${savedOpt.className} optimizer; model ${model.name} is compiled with ${opt.getClassName()}`);
    }
    if (JSON.stringify(opt.getConfig()) !== JSON.stringify(savedOpt.config)) {
      throw new EngramError('InvalidArgument',
        `the training state's ${savedOpt.className} config is ${JSON.stringify(savedOpt.config)}; the model's is ${JSON.stringify(opt.getConfig())}. ` +
        'Compile with the same config to resume exactly (change it after restoring if you mean to).');
    }
    for (const name of savedOpt.weights) get(`optimizer/${name}`);
  } else if (opt != null) {
    throw new EngramError('InvalidArgument', `the training state has no optimizer state, but model ${model.name} is compiled with ${opt.getClassName()}`);
  }

  const tensors = values.map((t, i) => toTfTensor(t, meta.modelWeights[i]!));
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
  if (savedOpt === null || opt == null) return;
  const before = await optimizerVariables(opt);
  const named = savedOpt.weights.map((name) => ({ name, tensor: toTfTensor(get(`optimizer/${name}`), name) }));
  try {
    await opt.setWeights(named);
  } finally {
    // setWeights() wraps each tensor in a new variable that shares its data; ours can go.
    tf.dispose(named.map((n) => n.tensor));
  }
  // Slots the optimizer held before (a model that had trained) and has now replaced would leak.
  const after = await optimizerVariables(opt);
  for (const v of before) if (!after.has(v)) v.dispose();
  writeOptimizerInternals(opt, savedOpt.internals);
}

/** `getWeights()`, with TF.js's own error (Adamax has none) turned into `Unsupported`. */
async function optimizerWeights(opt: tf.Optimizer): Promise<NamedTensor[]> {
  try {
    return await opt.getWeights();
  } catch (e) {
    throw new EngramError('Unsupported', `TF.js cannot read the state of the ${opt.getClassName()} optimizer (${e instanceof Error ? e.message : String(e)}); use Adam, SGD, Momentum, RMSProp, Adagrad or Adadelta`, {
      optimizer: opt.getClassName(),
    }, { cause: e });
  }
}

/** The optimizer's slot variables; the fresh tensors `getWeights()` makes (the `iter` scalar) are disposed. */
async function optimizerVariables(opt: tf.Optimizer): Promise<Set<tf.Variable>> {
  const named = await optimizerWeights(opt);
  const vars = new Set<tf.Variable>();
  for (const { tensor } of named) if (tensor instanceof tf.Variable) vars.add(tensor);
  disposeFresh(named);
  return vars;
}

function disposeFresh(named: readonly NamedTensor[]): void {
  for (const { tensor } of named) if (!(tensor instanceof tf.Variable)) tensor.dispose();
}

function toEngramName(dtype: string): string {
  return dtype === 'float32' ? 'F32' : dtype === 'int32' ? 'I32' : dtype === 'bool' ? 'BOOL' : dtype;
}

function duplicate(group: string, name: string): EngramError {
  return new EngramError('InvalidArgument', `two ${group} weights are named ${name}; their state could not be told apart`, { weight: name });
}

function parseMeta(value: unknown): TrainingStateMeta {
  const m = value as Partial<Record<keyof TrainingStateMeta, unknown>> | null;
  const bad = (why: string): EngramError => new EngramError('InvalidArgument', `not an engram/tfjs training state: ${why}`);
  if (m === null || typeof m !== 'object') throw bad('meta is missing');
  if (m.format !== STATE_FORMAT) throw bad(`format is ${JSON.stringify(m.format)}`);
  if (m.version !== 1) throw new EngramError('Unsupported', `training state version ${String(m.version)}; this engram reads version 1`);
  const names = (x: unknown): x is string[] => Array.isArray(x) && x.every((n) => typeof n === 'string');
  if (!names(m.modelWeights)) throw bad('modelWeights is not a list of names');
  if (m.optimizer === null) return m as TrainingStateMeta;
  const o = m.optimizer as Partial<Record<string, unknown>> | undefined;
  if (!o || typeof o !== 'object' || typeof o['className'] !== 'string' || typeof o['iterations'] !== 'number' || !names(o['weights'])) {
    throw bad('optimizer is malformed');
  }
  return { ...(m as TrainingStateMeta), optimizer: { ...(o as NonNullable<TrainingStateMeta['optimizer']>), internals: parseOptimizerInternals(o['internals'], 'training state') } };
}
