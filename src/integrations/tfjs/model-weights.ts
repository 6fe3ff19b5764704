/**
 * @module modelWeights: a TF.js model's weights as plain tensors by weight name — the names and
 * bytes {@link captureTrainingState} stores under `model/<name>`, so an EWC anchor taken from them
 * at a task boundary is byte for byte that step's model tensors and deduplicates against them.
 */
import type * as tf from '@tensorflow/tfjs';
import { EngramError } from '../../errors/index.ts';
import type { TensorData } from '../../tensor/index.ts';
import { tensorBytes } from './tfjs-dtype.ts';

/**
 * Copies of the model's weights by TF.js `originalName` (`hidden1/kernel`), in `model.weights`
 * order; with `trainableOnly`, only the weights the optimizer updates (the ones a Fisher covers).
 * `InvalidArgument` when two weights share a name.
 *
 * @example
 * ewc.consolidate('task-0', fisher, await modelWeights(model));   // the anchor θ*
 */
export async function modelWeights(model: tf.LayersModel, options: { readonly trainableOnly?: boolean } = {}): Promise<Record<string, TensorData>> {
  const out: Record<string, TensorData> = {};
  for (const w of options.trainableOnly ? model.trainableWeights : model.weights) {
    if (Object.hasOwn(out, w.originalName)) {
      throw new EngramError('InvalidArgument', `two weights of model ${model.name} are named ${w.originalName}`, { weight: w.originalName });
    }
    out[w.originalName] = await tensorBytes(w.read(), w.originalName);
  }
  return out;
}

/** The model's trainable variables by `originalName` (what a Fisher or a penalty is keyed by). */
export function trainableVariables(model: tf.LayersModel): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const w of model.trainableWeights) {
    if (out.has(w.originalName)) throw new EngramError('InvalidArgument', `two weights of model ${model.name} are named ${w.originalName}`, { weight: w.originalName });
    out.set(w.originalName, w.read() as tf.Variable);
  }
  return out;
}
