/**
 * @module Optimizer state that TF.js keeps outside `getWeights()`, so that a restored optimizer
 * continues bit for bit.
 *
 * TF.js 4.22's Adam keeps β1^t and β2^t as running float32 products (`accBeta1`, `accBeta2`,
 * multiplied by β once per step) in variables that `getWeights()` leaves out. `setWeights()` rebuilds
 * them as `pow(β, t + 1)`, which differs from the running product in the last bit at most steps
 * (48 of the first 60 on the wasm backend), so a model restored by TF.js alone takes a slightly
 * different next step. engram stores the exact values when it can see the optimizer and otherwise
 * recomputes the running product from the iteration count, which is exact for a run that was never
 * restored through TF.js's own `setWeights()`. The other built-in optimizers (SGD, Momentum,
 * RMSProp, Adagrad, Adadelta) have no such state; Adamax cannot be saved by TF.js at all.
 */
import * as tf from '@tensorflow/tfjs';
import { EngramError } from '../../errors/index.ts';
import { readsInMemory } from './tfjs-dtype.ts';

/** Adam's running products β1^t and β2^t, as exact float32 values. */
export type OptimizerInternals = { readonly accBeta1: number; readonly accBeta2: number };

/** The private fields of TF.js's AdamOptimizer that hold the running products. */
interface AdamFields {
  readonly accBeta1: tf.Variable;
  readonly accBeta2: tf.Variable;
  readonly beta1: number;
  readonly beta2: number;
}

function adamFields(optimizer: tf.Optimizer): AdamFields | undefined {
  if (optimizer.getClassName() !== 'Adam') return undefined;
  const o = optimizer as unknown as Partial<AdamFields>;
  if (!(o.accBeta1 instanceof tf.Variable) || !(o.accBeta2 instanceof tf.Variable) || typeof o.beta1 !== 'number' || typeof o.beta2 !== 'number') {
    return undefined;
  }
  return o as AdamFields;
}

/** The optimizer's hidden state, or null when it has none (every optimizer but Adam). */
export async function readOptimizerInternals(optimizer: tf.Optimizer): Promise<OptimizerInternals | null> {
  const adam = adamFields(optimizer);
  if (!adam) return null;
  const [b1, b2] = readsInMemory() ? [adam.accBeta1.dataSync(), adam.accBeta2.dataSync()] : await Promise.all([adam.accBeta1.data(), adam.accBeta2.data()]);
  return { accBeta1: b1[0]!, accBeta2: b2[0]! };
}

/**
 * The running products an Adam optimizer that was never interrupted has after `iterations` steps:
 * it starts at float32(β) and multiplies by float32(β) once per step. A float32 product is exact in
 * a double (24 + 24 bits), so `Math.fround` of the double product is the backend's float32 product.
 */
export function uninterruptedAdamInternals(beta1: number, beta2: number, iterations: number): OptimizerInternals {
  const f1 = Math.fround(beta1);
  const f2 = Math.fround(beta2);
  let a1 = f1;
  let a2 = f2;
  for (let i = 0; i < iterations; i++) {
    a1 = Math.fround(a1 * f1);
    a2 = Math.fround(a2 * f2);
  }
  return { accBeta1: a1, accBeta2: a2 };
}

/**
 * Puts the hidden state back after `setWeights()`: the given values, or for Adam without stored
 * values the uninterrupted running products for its current iteration count. No-op for other
 * optimizers.
 */
export function writeOptimizerInternals(optimizer: tf.Optimizer, internals: OptimizerInternals | null): void {
  const adam = adamFields(optimizer);
  if (!adam) return;
  const v = internals ?? uninterruptedAdamInternals(adam.beta1, adam.beta2, optimizer.iterations);
  if (!Number.isFinite(v.accBeta1) || !Number.isFinite(v.accBeta2)) {
    throw new EngramError('InvalidArgument', `Adam state accBeta1=${v.accBeta1}, accBeta2=${v.accBeta2} is not finite`);
  }
  tf.tidy(() => {
    adam.accBeta1.assign(tf.scalar(v.accBeta1));
    adam.accBeta2.assign(tf.scalar(v.accBeta2));
  });
}

/** Parses stored internals (from snapshot meta); null when absent, `InvalidArgument` when malformed. */
export function parseOptimizerInternals(value: unknown, where: string): OptimizerInternals | null {
  if (value === undefined || value === null) return null;
  const v = value as Partial<Record<keyof OptimizerInternals, unknown>>;
  if (typeof v.accBeta1 !== 'number' || typeof v.accBeta2 !== 'number') {
    throw new EngramError('InvalidArgument', `${where}: optimizer internals must be { accBeta1: number, accBeta2: number }`, { where });
  }
  return { accBeta1: v.accBeta1, accBeta2: v.accBeta2 };
}
