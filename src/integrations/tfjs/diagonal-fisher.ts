/**
 * @module diagonalFisher: the diagonal of a TF.js classifier's Fisher information on a task's data,
 * from the model's own log-likelihood gradients, as plain tensors by weight name — what
 * engram/continual's `Ewc.consolidate` takes.
 *
 * F_w = 1/n Σ_i (∂ log p(y_i | x_i) / ∂w)², per example (batchSize 1, the default: the exact
 * diagonal) or from gradients of small batches (∂ Σ_{i∈B} log p / ∂w)² / 1 summed and divided by n,
 * which equals the per-example sum when the examples' gradients are uncorrelated and costs a batch's
 * worth of one backward pass. y is the true label (`labels: 'empirical'`, the empirical Fisher) or
 * drawn from the model's own predictive distribution with a seeded engram `Rng`
 * (`labels: 'sampled'`, the true Fisher's Monte-Carlo estimate). The sums run in float32 in a fixed
 * order on the active backend, so equal inputs give equal bytes.
 */
import * as tf from '@tensorflow/tfjs';
import { EngramError } from '../../errors/index.ts';
import type { TensorData } from '../../tensor/index.ts';
import type { Rng } from '../../train/index.ts';
import { trainableVariables } from './model-weights.ts';
import { tensorBytes, toTfTensor } from './tfjs-dtype.ts';

/** The logit of an output outside `classes`: exp() of it is 0 in float32, and it stays finite (no NaN in gradients). */
const MASKED = -1e9;

/** Options of {@link diagonalFisher}. */
export interface FisherOptions {
  /** `empirical` (default): y is the true label; `sampled`: y ~ p(·|x) drawn from `rng`. */
  readonly labels?: 'empirical' | 'sampled';
  /** The generator `sampled` labels are drawn from (its state advances: save it with the run). */
  readonly rng?: Rng;
  /** Examples per gradient (default 1: per-example squared gradients, the exact diagonal). */
  readonly batchSize?: number;
  /** What the model outputs: `logits` (default) or `probabilities` (a softmax last layer). */
  readonly output?: 'logits' | 'probabilities';
  /**
   * Restricts the likelihood to these output units (a task-incremental head: the task's classes
   * only), renormalised over them; every label must be one of them. Default: every output.
   */
  readonly classes?: readonly number[];
}

/** A task's examples: inputs [n, …] and integer labels (one per example). */
export interface FisherData {
  readonly x: tf.Tensor | TensorData;
  readonly y: Int32Array | readonly number[] | TensorData;
}

/**
 * The diagonal Fisher of every trainable weight of `model` on `data`, F32 tensors by weight
 * `originalName` (the names {@link modelWeights} and the training-state bridge use).
 * `InvalidArgument` for no examples, a label count that differs from the inputs', a label outside
 * the outputs (or outside `classes`), `sampled` without an `rng`, or a bad `batchSize`.
 *
 * @example
 * const fisher = await diagonalFisher(model, { x: taskX, y: taskY });        // empirical, per example
 * ewc.consolidate(task, fisher, await modelWeights(model, { trainableOnly: true }));
 */
export async function diagonalFisher(model: tf.LayersModel, data: FisherData, options: FisherOptions = {}): Promise<Record<string, TensorData>> {
  const labels = options.labels ?? 'empirical';
  const batchSize = options.batchSize ?? 1;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new EngramError('InvalidArgument', `batchSize must be a positive integer, got ${batchSize}`, { batchSize });
  if (labels === 'sampled' && !options.rng) throw new EngramError('InvalidArgument', 'sampled Fisher labels need an rng (an engram Rng) to draw them from');
  if (labels !== 'empirical' && labels !== 'sampled') throw new EngramError('InvalidArgument', `labels must be 'empirical' or 'sampled', got ${String(labels)}`);
  const y = labelArray(data.y);
  const x = data.x instanceof tf.Tensor ? data.x : toTfTensor(data.x, 'x');
  try {
    const n = x.shape[0] ?? 0;
    if (n === 0) throw new EngramError('InvalidArgument', 'the Fisher needs at least one example');
    if (y.length !== n) throw new EngramError('InvalidArgument', `${n} inputs but ${y.length} labels`, { inputs: n, labels: y.length });
    const outputs = model.outputs[0]?.shape.at(-1);
    if (typeof outputs !== 'number') throw new EngramError('InvalidArgument', `model ${model.name} has no fixed output width`);
    const classes = options.classes ?? [...Array(outputs).keys()];
    const position = new Map(classes.map((c, i) => [c, i]));
    for (const c of classes) if (!Number.isInteger(c) || c < 0 || c >= outputs) throw new EngramError('InvalidArgument', `class ${c} is not an output of model ${model.name} (0..${outputs - 1})`, { class: c });
    if (labels === 'empirical') {
      for (const label of y) if (!position.has(label)) throw new EngramError('InvalidArgument', `label ${label} is not among the classes ${classes.join(', ')}`, { label });
    }
    const vars = trainableVariables(model);
    const varList = [...vars.values()];
    const sums = new Map<string, tf.Tensor>([...vars].map(([name, v]) => [name, tf.zerosLike(v)]));
    // A mask rather than a gather of the columns: the wasm backend has no gradient for gather.
    const allowed = tf.tidy(() => tf.tensor1d(Array.from({ length: outputs }, (_, c) => (position.has(c) ? 1 : 0)), 'bool').expandDims(0));
    const logLikelihood = (out: tf.Tensor): tf.Tensor2D => {
      if (options.output === 'probabilities') {
        const p = options.classes ? tf.where(allowed, out, tf.zerosLike(out)) : out;
        return tf.log(tf.div(p, tf.sum(p, 1, true))) as tf.Tensor2D;
      }
      return tf.logSoftmax(options.classes ? tf.where(allowed, out, tf.fill(out.shape, MASKED)) : out) as tf.Tensor2D;
    };
    try {
      for (let start = 0; start < n; start += batchSize) {
        const size = Math.min(batchSize, n - start);
        const xb = tf.slice(x, start, size);
        try {
          const targets = labels === 'empirical'
            ? Array.from(y.subarray(start, start + size))
            : sampleLabels(tf.tidy(() => tf.exp(logLikelihood(model.apply(xb, { training: false }) as tf.Tensor))), options.rng!);
          const oneHot = tf.oneHot(tf.tensor1d(targets, 'int32'), outputs);
          try {
            const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(logLikelihood(model.apply(xb, { training: false }) as tf.Tensor), oneHot)) as tf.Scalar, varList);
            value.dispose();
            for (const [name, v] of vars) {
              const g = grads[v.name]!;
              const next = tf.tidy(() => tf.add(sums.get(name)!, tf.square(g)));
              sums.get(name)!.dispose();
              sums.set(name, next);
            }
            tf.dispose(Object.values(grads));
          } finally {
            oneHot.dispose();
          }
        } finally {
          xb.dispose();
        }
      }
      const out: Record<string, TensorData> = {};
      for (const [name, sum] of sums) {
        const mean = tf.div(sum, tf.scalar(n));
        try {
          out[name] = await tensorBytes(mean, name);
        } finally {
          mean.dispose();
        }
      }
      return out;
    } finally {
      allowed.dispose();
      tf.dispose([...sums.values()]);
    }
  } finally {
    if (!(data.x instanceof tf.Tensor)) x.dispose();
  }
}

/** One label per row of `probs`, drawn by inverse CDF from `rng`; `probs` is disposed. */
function sampleLabels(probs: tf.Tensor, rng: Rng): number[] {
  const p = probs.dataSync();
  const [rows, width] = probs.shape as [number, number];
  probs.dispose();
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const u = rng.uniform();
    // The last class with any mass, for a u above the rounded sum: never a masked-off class.
    let pick = -1;
    let acc = 0;
    for (let c = 0; c < width; c++) {
      const q = p[r * width + c]!;
      if (q <= 0) continue;
      pick = c;
      acc += q;
      if (u < acc) break;
    }
    out.push(Math.max(pick, 0));
  }
  return out;
}

function labelArray(y: FisherData['y']): Int32Array {
  if (y instanceof Int32Array) return y;
  if (Array.isArray(y)) return Int32Array.from(y as readonly number[]);
  const t = y as TensorData;
  if (t.dtype !== 'I32' || t.shape.length !== 1) throw new EngramError('InvalidArgument', `Fisher labels must be I32 [n], got ${t.dtype}[${t.shape.join(', ')}]`);
  return new Int32Array(t.data.slice().buffer);
}
