/**
 * @module Replay-buffer batches as TF.js tensors: engram/continual's buffers hold and return plain
 * tensors (fields by name, first dimension the example); a TF.js loop trains on tf tensors.
 */
import type * as tf from '@tensorflow/tfjs';
import { EngramError } from '../../errors/index.ts';
import type { TensorData } from '../../tensor/index.ts';
import { toTfTensor } from './tfjs-dtype.ts';

/** What {@link replayBatch} needs of a buffer (engram/continual's `ReplayBuffer` is one). */
export interface SampledBuffer {
  readonly size: number;
  sample(n: number): Record<string, TensorData>;
}

/** Plain tensors by name as new TF.js tensors (F32, I32, BOOL), which the caller disposes. */
export function toTfTensors(fields: Readonly<Record<string, TensorData>>): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  try {
    for (const [name, t] of Object.entries(fields)) out[name] = toTfTensor(t, name);
  } catch (e) {
    for (const t of Object.values(out)) t.dispose();
    throw e;
  }
  return out;
}

/**
 * `n` examples drawn by the buffer's own RNG (its state advances, as the buffer's `sample` says),
 * as TF.js tensors by field name; undefined when the buffer is empty. The caller disposes them.
 * `InvalidArgument` for a count that is not a positive integer.
 *
 * @example
 * const replayed = replayBatch(buffer, 32);
 * if (replayed) { xs = tf.concat([xs, replayed.x]); ... ; tf.dispose(Object.values(replayed)); }
 */
export function replayBatch(buffer: SampledBuffer, n: number): Record<string, tf.Tensor> | undefined {
  if (!Number.isSafeInteger(n) || n < 1) throw new EngramError('InvalidArgument', `a replay batch needs a positive number of examples, got ${n}`, { n });
  if (buffer.size === 0) return undefined;
  return toTfTensors(buffer.sample(n));
}
