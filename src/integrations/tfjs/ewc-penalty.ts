/**
 * @module EwcPenalty: elastic weight consolidation's penalty λ/2 · Σ_terms Σ_w F_w (θ_w − θ*_w)² as a
 * `tf.Scalar` on a TF.js model's live weights, to add to the training loss inside
 * `optimizer.minimize`, so the optimizer gets its gradient by autodiff. The terms are
 * engram/continual's `Ewc.terms()` (one per consolidated task, or the online running one): plain
 * tensors uploaded once, when the penalty is built, not at every step.
 */
import * as tf from '@tensorflow/tfjs';
import { EngramError } from '../../errors/index.ts';
import type { TensorData } from '../../tensor/index.ts';
import { trainableVariables } from './model-weights.ts';
import { toTfTensor } from './tfjs-dtype.ts';

/** One EWC term: a diagonal Fisher and the anchor weights θ*, by weight name. */
export interface EwcTerm {
  readonly fisher: Readonly<Record<string, TensorData>>;
  readonly anchor: Readonly<Record<string, TensorData>>;
}

/**
 * The penalty of a set of EWC terms on a model's trainable weights. Dispose it (or build a new one
 * after each consolidation: the terms are copied in). `InvalidArgument` when a term names a weight
 * the model does not have, lacks the anchor of a Fisher weight, or a shape differs; `lambda` must
 * be finite and ≥ 0.
 *
 * @example
 * const penalty = new EwcPenalty(model, ewc.terms(), 100);
 * model.optimizer.minimize(() => tf.add(taskLoss(), penalty.loss()), false, vars);
 */
export class EwcPenalty {
  readonly lambda: number;
  readonly #parts: { readonly v: tf.Variable; readonly fisher: tf.Tensor; readonly anchor: tf.Tensor }[] = [];
  readonly #half: tf.Scalar;

  constructor(model: tf.LayersModel, terms: readonly EwcTerm[], lambda: number) {
    if (!Number.isFinite(lambda) || lambda < 0) throw new EngramError('InvalidArgument', `the EWC lambda must be finite and >= 0, got ${lambda}`, { lambda });
    this.lambda = lambda;
    const vars = trainableVariables(model);
    try {
      terms.forEach((term, i) => {
        for (const [name, f] of Object.entries(term.fisher)) {
          const v = vars.get(name);
          if (!v) throw new EngramError('InvalidArgument', `EWC term ${i} has a Fisher for ${name}, which is not a trainable weight of model ${model.name}`, { weight: name });
          const a = term.anchor[name];
          if (!a) throw new EngramError('InvalidArgument', `EWC term ${i} has a Fisher for ${name} but no anchor for it`, { weight: name });
          for (const t of [f, a]) {
            if (t.shape.join(',') !== v.shape.join(',')) {
              throw new EngramError('InvalidArgument', `EWC term ${i}: ${name} is [${t.shape.join(', ')}], the model's weight is [${v.shape.join(', ')}]`, { weight: name });
            }
          }
          this.#parts.push({ v, fisher: toTfTensor(f, `fisher/${name}`), anchor: toTfTensor(a, `anchor/${name}`) });
        }
      });
    } catch (e) {
      this.dispose();
      throw e;
    }
    this.#half = tf.scalar(lambda / 2);
  }

  /** Whether there is anything to penalise (no terms: the penalty is 0). */
  get empty(): boolean {
    return this.#parts.length === 0;
  }

  /** λ/2 · Σ F (θ − θ*)² on the weights' current values, differentiable with respect to them. */
  loss(): tf.Scalar {
    return tf.tidy(() => {
      let total: tf.Tensor = tf.scalar(0);
      for (const { v, fisher, anchor } of this.#parts) total = tf.add(total, tf.sum(tf.mul(fisher, tf.square(tf.sub(v, anchor)))));
      return tf.mul(this.#half, total) as tf.Scalar;
    });
  }

  /** Frees the uploaded Fisher and anchor tensors. */
  dispose(): void {
    for (const p of this.#parts) tf.dispose([p.fisher, p.anchor]);
    this.#parts.length = 0;
    this.#half?.dispose();
  }
}
