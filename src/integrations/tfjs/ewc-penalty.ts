/**
 * @module EwcPenalty: elastic weight consolidation's penalty λ/2 · Σ_terms Σ_w F_w (θ_w − θ*_w)² as a
 * `tf.Scalar` on a TF.js model's live weights, to add to the training loss inside
 * `optimizer.minimize`, so the optimizer gets its gradient by autodiff. The terms are
 * engram/continual's `Ewc.terms()` (one per consolidated task, or the online running one): plain
 * tensors uploaded once, when the penalty is built, not at every step.
 */
import * as tf from '@tensorflow/tfjs';
import { EngramError } from '../../errors/index.ts';
import { toFloat32, type TensorData } from '../../tensor/index.ts';
import { trainableVariables } from './model-weights.ts';
import { toTfTensor } from './tfjs-dtype.ts';

/** One EWC term: a diagonal Fisher and the anchor weights θ*, by weight name. */
export interface EwcTerm {
  readonly fisher: Readonly<Record<string, TensorData>>;
  readonly anchor: Readonly<Record<string, TensorData>>;
}

/**
 * The penalty of a set of EWC terms on a model's trainable weights, the terms merged into one
 * quadratic per weight. Dispose it (or build a new one after each consolidation: the terms are
 * copied in). `InvalidArgument` when a term names a weight
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
  /** λ/2 · Σ_w [Σ_t F_t θ*_t² − (Σ_t F_t θ*_t)² / Σ_t F_t]: what merging the terms leaves out of the quadratic. */
  readonly #constant: tf.Scalar;

  constructor(model: tf.LayersModel, terms: readonly EwcTerm[], lambda: number) {
    if (!Number.isFinite(lambda) || lambda < 0) throw new EngramError('InvalidArgument', `the EWC lambda must be finite and >= 0, got ${lambda}`, { lambda });
    this.lambda = lambda;
    const vars = trainableVariables(model);
    // Σ_t F_t (θ − θ*_t)² = F (θ − θ̄)² + c with F = Σ_t F_t and θ̄ = Σ_t F_t θ*_t / F: one term per
    // weight however many tasks are consolidated, so a step costs the same after task 5 as after
    // task 1. Merged in float64, then rounded once to float32.
    const merged = new Map<string, { v: tf.Variable; f: Float64Array; fa: Float64Array; faa: Float64Array }>();
    terms.forEach((term, i) => {
      for (const [name, f] of Object.entries(term.fisher)) {
        const v = vars.get(name);
        if (!v) throw new EngramError('InvalidArgument', `EWC term ${i} has a Fisher for ${name}, which is not a trainable weight of model ${model.name}`, { weight: name });
        const a = term.anchor[name];
        if (!a) throw new EngramError('InvalidArgument', `EWC term ${i} has a Fisher for ${name} but no anchor for it`, { weight: name });
        for (const t of [f, a]) {
          if (t.shape.join(',') !== v.shape.join(',') || t.dtype !== 'F32' || t.data.byteLength !== 4 * v.size) {
            throw new EngramError('InvalidArgument', `EWC term ${i}: ${name} is ${t.dtype}[${t.shape.join(', ')}], the model's weight is F32[${v.shape.join(', ')}]`, { weight: name });
          }
        }
        let m = merged.get(name);
        if (!m) merged.set(name, (m = { v, f: new Float64Array(v.size), fa: new Float64Array(v.size), faa: new Float64Array(v.size) }));
        const fv = toFloat32('F32', f.data);
        const av = toFloat32('F32', a.data);
        for (let k = 0; k < v.size; k++) {
          m.f[k]! += fv[k]!;
          m.fa[k]! += fv[k]! * av[k]!;
          m.faa[k]! += fv[k]! * av[k]! * av[k]!;
        }
      }
    });
    let constant = 0;
    for (const [name, m] of merged) {
      const anchor = new Float32Array(m.v.size);
      for (let k = 0; k < m.v.size; k++) {
        const bar = m.f[k]! > 0 ? m.fa[k]! / m.f[k]! : 0;
        anchor[k] = bar;
        constant += m.faa[k]! - (m.f[k]! > 0 ? (m.fa[k]! * m.fa[k]!) / m.f[k]! : 0);
      }
      this.#parts.push({
        v: m.v,
        fisher: toTfTensor({ dtype: 'F32', shape: m.v.shape, data: new Uint8Array(Float32Array.from(m.f).buffer) }, `fisher/${name}`),
        anchor: toTfTensor({ dtype: 'F32', shape: m.v.shape, data: new Uint8Array(anchor.buffer) }, `anchor/${name}`),
      });
    }
    this.#half = tf.scalar(lambda / 2);
    this.#constant = tf.scalar((lambda / 2) * constant);
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
      return tf.add(tf.mul(this.#half, total), this.#constant) as tf.Scalar;
    });
  }

  /** Frees the uploaded Fisher and anchor tensors. */
  dispose(): void {
    for (const p of this.#parts) tf.dispose([p.fisher, p.anchor]);
    this.#parts.length = 0;
    this.#half.dispose();
    this.#constant.dispose();
  }
}

