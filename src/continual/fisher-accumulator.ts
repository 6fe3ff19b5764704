/**
 * @module FisherAccumulator: the diagonal of the empirical Fisher information, E[g²], built up from
 * log-likelihood gradients as a loop computes them (plain Float32Arrays: any framework).
 */
import { numel, type TensorData } from '../tensor/index.ts';
import { invalid } from './continual-error.ts';
import { float32Tensor } from './float-tensor.ts';

/**
 * Sums squared log-likelihood gradients weight by weight.
 *
 * Each `add(grads, examples)` is one estimate of the per-example Fisher diagonal, `examples · g²`,
 * weighted by `examples`: with `examples = 1` and one call per example, `result()` is exactly the
 * empirical Fisher mean_i g_i²; with the gradient of a batch's mean log-likelihood over B examples,
 * B · g_b² is the usual minibatch estimate. Sums are kept in float64.
 *
 * @example
 * const acc = new FisherAccumulator({ 'dense/kernel': [64, 32] });
 * for (const g of perExampleGradients) acc.add(g);
 * ewc.consolidate('task-1', acc.result(), modelWeights);
 */
export class FisherAccumulator {
  readonly #shapes = new Map<string, readonly number[]>();
  readonly #sums = new Map<string, Float64Array>();
  #count = 0;

  /** `shapes` gives each weight's shape for `result()` (default: flat `[length]`). */
  constructor(shapes: Readonly<Record<string, readonly number[]>> = {}) {
    for (const [name, shape] of Object.entries(shapes)) {
      if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw invalid(`shape of ${name} must be a list of non-negative integers`, { weight: name });
      this.#shapes.set(name, [...shape]);
    }
  }

  /** Examples counted so far. */
  get examples(): number {
    return this.#count;
  }

  /**
   * Adds one estimate: `grads` are log-likelihood gradients (not squared) by weight name, of one
   * example or of the mean over `examples` examples. Every call must name the same weights with the
   * same lengths; `InvalidArgument` otherwise, or for a non-finite gradient (nothing is added then).
   */
  add(grads: Readonly<Record<string, Float32Array>>, examples = 1): void {
    this.#accumulate(grads, examples, (g) => examples * examples * g * g);
  }

  /**
   * Adds sums of squared per-example gradients Σ_i g_i² over `examples` examples (a loop that squares
   * per-example gradients itself, e.g. with vectorised per-example gradients).
   */
  addSquared(squaredSums: Readonly<Record<string, Float32Array>>, examples: number): void {
    this.#accumulate(squaredSums, examples, (g) => g);
  }

  #accumulate(grads: Readonly<Record<string, Float32Array>>, examples: number, term: (g: number) => number): void {
    if (!Number.isSafeInteger(examples) || examples <= 0) throw invalid(`examples must be a positive integer, got ${String(examples)}`, { examples });
    if (!grads || typeof grads !== 'object') throw invalid('add needs gradients { weight: Float32Array, … }');
    const names = Object.keys(grads);
    if (names.length === 0) throw invalid('add needs at least one weight\'s gradient');
    if (this.#sums.size > 0) {
      const missing = [...this.#sums.keys()].filter((n) => !Object.hasOwn(grads, n));
      if (missing.length > 0 || names.length !== this.#sums.size) throw invalid(`every add must name the same weights (first: ${[...this.#sums.keys()].join(', ')}; now: ${names.join(', ')})`);
    }
    for (const name of names) {
      const g = grads[name];
      if (!(g instanceof Float32Array)) throw invalid(`the gradient of ${name} must be a Float32Array`, { weight: name });
      const sum = this.#sums.get(name);
      if (sum && sum.length !== g.length) throw invalid(`the gradient of ${name} has ${g.length} values, earlier ones ${sum.length}`, { weight: name });
      const shape = this.#shapes.get(name);
      if (shape && numel(shape) !== g.length) throw invalid(`the gradient of ${name} has ${g.length} values; its shape [${shape.join(', ')}] has ${numel(shape)}`, { weight: name });
      for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i]!)) throw invalid(`the gradient of ${name} holds ${g[i]} at ${i}`, { weight: name, index: i });
    }
    for (const name of names) {
      const g = grads[name]!;
      let sum = this.#sums.get(name);
      if (!sum) {
        sum = new Float64Array(g.length);
        this.#sums.set(name, sum);
      }
      for (let i = 0; i < g.length; i++) sum[i]! += term(g[i]!);
    }
    this.#count += examples;
  }

  /** The Fisher diagonal by weight (F32, with the shapes given to the constructor); `InvalidArgument` before any add. */
  result(): Record<string, TensorData> {
    if (this.#count === 0) throw invalid('the Fisher accumulator has no gradients yet');
    const out: Record<string, TensorData> = {};
    for (const [name, sum] of this.#sums) {
      const f = new Float32Array(sum.length);
      for (let i = 0; i < sum.length; i++) f[i] = sum[i]! / this.#count;
      out[name] = float32Tensor(f, this.#shapes.get(name) ?? [f.length]);
    }
    return out;
  }
}
