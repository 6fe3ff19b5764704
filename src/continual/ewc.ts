/**
 * @module Elastic weight consolidation (Kirkpatrick et al., 2017) on plain Float32 tensors: the
 * quadratic penalty λ/2 · Σ F (θ − θ*)² that keeps weights important to earlier tasks near their
 * values at those tasks' ends, per task or online (Schwarz et al., 2018: one running Fisher,
 * F ← γF + F_task, and the latest anchor). Persisted in namespaces (ewc-record.ts).
 */
import { checkNamespaceName, type RestoredNamespace, type StateNamespace } from '../train/index.ts';
import { numel, type TensorData } from '../tensor/index.ts';
import { invalid, malformed } from './continual-error.ts';
import { checkEwcNamespace, EWC_FORMAT, EWC_ONLINE, EWC_PREFIX, EWC_VERSION, type CheckedEwc, type EwcRecord } from './ewc-record.ts';
import { float32Of } from './float-tensor.ts';

/** Options of {@link Ewc}. */
export interface EwcOptions {
  /** Strength of the penalty (≥ 0). */
  readonly lambda: number;
  readonly mode: 'per-task' | 'online';
  /** Online decay of the running Fisher, in (0, 1] (default 1: no decay). */
  readonly gamma?: number;
}

/** One consolidated term: a Fisher diagonal and its anchor, by weight, as the Ewc holds them. */
interface Term {
  readonly task: string;
  /** Weight names in order. */
  readonly weights: readonly string[];
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  readonly fisher: Map<string, Float32Array>;
  /** The anchor's bytes exactly as given (they deduplicate against the model's). */
  readonly anchor: Map<string, Uint8Array>;
}

const tensorOf = (bytes: Uint8Array, shape: readonly number[]): TensorData => ({ dtype: 'F32', shape: [...shape], data: bytes });
const f32 = (bytes: Uint8Array): Float32Array => (bytes.byteOffset % 4 === 0
  ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) : new Float32Array(bytes.slice().buffer));

/**
 * EWC state: the consolidated tasks' Fisher diagonals and anchors, the penalty and its gradient.
 *
 * @example
 * const ewc = new Ewc({ lambda: 100, mode: 'per-task' });
 * ewc.consolidate('task-1', fisher.result(), model);          // at the task boundary
 * loss += ewc.penalty(model); addInto(grads, ewc.penaltyGradient(model));
 * await manager.save(step, { model, namespaces: { ...ewc.toNamespaces() } });
 */
export class Ewc {
  readonly lambda: number;
  readonly mode: 'per-task' | 'online';
  readonly gamma: number;
  readonly #terms: Term[] = [];
  readonly #tasks: string[] = [];

  /** `InvalidArgument` for λ < 0, an unknown mode or γ outside (0, 1]. */
  constructor(options: EwcOptions) {
    if (!options || typeof options !== 'object') throw invalid('Ewc needs options { lambda, mode }');
    if (typeof options.lambda !== 'number' || !Number.isFinite(options.lambda) || options.lambda < 0) throw invalid(`lambda must be a non-negative number, got ${String(options.lambda)}`, { lambda: options.lambda });
    if (options.mode !== 'per-task' && options.mode !== 'online') throw invalid(`mode must be per-task or online, got ${JSON.stringify(options.mode)}`, { mode: options.mode });
    const gamma = options.gamma ?? 1;
    if (typeof gamma !== 'number' || !(gamma > 0 && gamma <= 1)) throw invalid(`gamma must be in (0, 1], got ${String(gamma)}`, { gamma });
    this.lambda = options.lambda;
    this.mode = options.mode;
    this.gamma = gamma;
  }

  /** Tasks consolidated so far, in order. */
  get tasks(): readonly string[] {
    return [...this.#tasks];
  }

  /**
   * Records the end of a task: its diagonal Fisher and the anchor θ* (the model's weights at the
   * boundary; their bytes are kept exactly, so a checkpoint of that step stores them once). Fisher
   * and anchor name the same F32 weights with the same element counts (a Fisher may be flat); the
   * Fisher's values are finite and ≥ 0. Online: the running Fisher becomes γF + F_task (same weights
   * as before) and the anchor the new one. `InvalidArgument` for a bad or repeated task; nothing
   * changes then.
   */
  consolidate(task: string, fisher: Readonly<Record<string, TensorData>>, anchor: Readonly<Record<string, TensorData>>): void {
    if (typeof task !== 'string' || task.includes('/')) throw invalid(`an EWC task name is one namespace segment, got ${JSON.stringify(task)}`, { task });
    checkNamespaceName(EWC_PREFIX + task);
    if (this.#tasks.includes(task)) throw invalid(`task ${task} is already consolidated`, { task });
    if (!fisher || typeof fisher !== 'object' || !anchor || typeof anchor !== 'object') throw invalid('consolidate needs fisher and anchor tensors by weight name');
    const weights = Object.keys(anchor);
    if (weights.length === 0) throw invalid('consolidate needs at least one weight');
    const extra = Object.keys(fisher).filter((w) => !Object.hasOwn(anchor, w));
    if (extra.length > 0 || Object.keys(fisher).length !== weights.length) throw invalid(`fisher and anchor must name the same weights (fisher: ${Object.keys(fisher).join(', ')}; anchor: ${weights.join(', ')})`);
    const shapes = new Map<string, readonly number[]>();
    const fishers = new Map<string, Float32Array>();
    const anchors = new Map<string, Uint8Array>();
    for (const w of weights) {
      const a = anchor[w]!;
      float32Of(a, `anchor ${w}`);
      const f = float32Of(fisher[w]!, `fisher ${w}`);
      if (f.length !== numel(a.shape)) throw invalid(`fisher ${w} has ${f.length} values, anchor ${w} ${numel(a.shape)}`, { weight: w });
      for (let i = 0; i < f.length; i++) if (!(f[i]! >= 0) || !Number.isFinite(f[i]!)) throw invalid(`fisher ${w} holds ${f[i]} at ${i} (a Fisher diagonal is finite and ≥ 0)`, { weight: w, index: i });
      shapes.set(w, [...a.shape]);
      fishers.set(w, new Float32Array(f));
      anchors.set(w, a.data.slice());
    }
    if (this.mode === 'online' && this.#terms.length > 0) {
      const prev = this.#terms[0]!;
      if (prev.weights.length !== weights.length || prev.weights.some((w) => !shapes.has(w) || numel(shapes.get(w)!) !== numel(prev.shapes.get(w)!))) {
        throw invalid(`online EWC needs the same weights at every task (before: ${prev.weights.join(', ')}; now: ${weights.join(', ')})`);
      }
      for (const w of prev.weights) {
        const run = prev.fisher.get(w)!;
        const add = fishers.get(w)!;
        for (let i = 0; i < run.length; i++) add[i] = Math.fround(this.gamma * run[i]!) + add[i]!;
      }
      this.#terms[0] = { task: EWC_ONLINE, weights: prev.weights, shapes, fisher: fishers, anchor: anchors };
    } else {
      this.#terms.push({ task, weights, shapes, fisher: fishers, anchor: anchors });
    }
    this.#tasks.push(task);
  }

  /** Checks that `weights` holds every consolidated weight as F32 with the anchor's element count. */
  #read(weights: Readonly<Record<string, TensorData>>): Map<string, Float32Array> {
    if (!weights || typeof weights !== 'object') throw invalid('penalty needs the weights { name: tensor, … }');
    const out = new Map<string, Float32Array>();
    for (const t of this.#terms) {
      for (const w of t.weights) {
        if (out.has(w)) continue;
        const tensor = weights[w];
        if (!tensor) throw invalid(`the weights lack ${w}, which task ${t.task} consolidated`, { weight: w });
        const v = float32Of(tensor, `weight ${w}`);
        if (v.length !== t.fisher.get(w)!.length) throw invalid(`weight ${w} has ${v.length} values, its anchor ${t.fisher.get(w)!.length}`, { weight: w });
        out.set(w, v);
      }
    }
    return out;
  }

  /** λ/2 · Σ_terms Σ_w F (θ − θ*)², summed in float64; 0 before any task. */
  penalty(weights: Readonly<Record<string, TensorData>>): number {
    const theta = this.#read(weights);
    let sum = 0;
    for (const t of this.#terms) {
      for (const w of t.weights) {
        const f = t.fisher.get(w)!;
        const a = f32(t.anchor.get(w)!);
        const v = theta.get(w)!;
        for (let i = 0; i < f.length; i++) {
          const d = v[i]! - a[i]!;
          sum += f[i]! * d * d;
        }
      }
    }
    return (this.lambda / 2) * sum;
  }

  /** ∂penalty/∂θ = λ Σ_terms F (θ − θ*), by weight name (weights no task consolidated are left out). */
  penaltyGradient(weights: Readonly<Record<string, TensorData>>): Record<string, Float32Array> {
    const theta = this.#read(weights);
    const acc = new Map<string, Float64Array>();
    for (const t of this.#terms) {
      for (const w of t.weights) {
        const f = t.fisher.get(w)!;
        const a = f32(t.anchor.get(w)!);
        const v = theta.get(w)!;
        let g = acc.get(w);
        if (!g) acc.set(w, (g = new Float64Array(f.length)));
        for (let i = 0; i < f.length; i++) g[i]! += f[i]! * (v[i]! - a[i]!);
      }
    }
    const out: Record<string, Float32Array> = {};
    for (const [w, g] of acc) out[w] = Float32Array.from(g, (x) => this.lambda * x);
    return out;
  }

  /**
   * The penalty's terms, for a framework that builds it into its own loss (TF.js): one per task
   * (per-task mode) or the single running one (online). Tensors are F32 with the anchor's shape;
   * their bytes are the Ewc's own — read them, do not write them.
   */
  terms(): readonly { readonly task: string; readonly fisher: Readonly<Record<string, TensorData>>; readonly anchor: Readonly<Record<string, TensorData>> }[] {
    return this.#terms.map((t) => ({
      task: t.task,
      fisher: Object.fromEntries(t.weights.map((w) => [w, tensorOf(new Uint8Array(t.fisher.get(w)!.buffer), t.shapes.get(w)!)])),
      anchor: Object.fromEntries(t.weights.map((w) => [w, tensorOf(t.anchor.get(w)!, t.shapes.get(w)!)])),
    }));
  }

  /**
   * The namespaces to put in `TrainingState.namespaces`: `ewc/<task>` per task, or `ewc/online`;
   * tensors `fisher/<weight>` and `anchor/<weight>`, and a record (ewc-record.ts). Equal calls give
   * equal bytes, so unchanged terms deduplicate from checkpoint to checkpoint.
   */
  toNamespaces(): Record<string, StateNamespace> {
    const out: Record<string, StateNamespace> = {};
    for (const [order, t] of this.#terms.entries()) {
      const tensors: Record<string, TensorData> = {};
      for (const w of t.weights) {
        tensors[`fisher/${w}`] = tensorOf(new Uint8Array(t.fisher.get(w)!.buffer), t.shapes.get(w)!);
        tensors[`anchor/${w}`] = tensorOf(t.anchor.get(w)!, t.shapes.get(w)!);
      }
      const base: Omit<EwcRecord, 'task' | 'order' | 'tasks'> = { format: EWC_FORMAT, version: EWC_VERSION, lambda: this.lambda, mode: this.mode, gamma: this.gamma, weights: [...t.weights] };
      const record: EwcRecord = this.mode === 'online' ? { ...base, tasks: [...this.#tasks] } : { ...base, task: t.task, order };
      out[this.mode === 'online' ? EWC_ONLINE : EWC_PREFIX + t.task] = { tensors, record: record as unknown as StateNamespace['record'] };
    }
    return out;
  }

  /**
   * The Ewc that a state's namespaces hold (every `ewc/…` one), or undefined when there is none.
   * `FormatError` for a malformed or newer record, or namespaces that disagree (λ, mode, γ, order).
   */
  static fromNamespaces(all: Readonly<Record<string, RestoredNamespace>>): Ewc | undefined {
    if (!all || typeof all !== 'object') throw invalid('fromNamespaces needs the restored namespaces by name');
    const found: CheckedEwc[] = Object.entries(all).filter(([n]) => n.startsWith(EWC_PREFIX))
      .map(([n, ns]) => checkEwcNamespace(n, ns.record, ns.tensors ?? {}));
    if (found.length === 0) return undefined;
    const first = found[0]!.record;
    for (const f of found) {
      const r = f.record;
      if (r.lambda !== first.lambda || r.mode !== first.mode || r.gamma !== first.gamma) throw malformed(f.name, 'disagrees with the other ewc namespaces on lambda, mode or gamma', 'inconsistent namespaces');
    }
    const ewc = new Ewc({ lambda: first.lambda, mode: first.mode, gamma: first.gamma });
    const load = (c: CheckedEwc, task: string): Term => ({
      task, weights: [...c.record.weights],
      shapes: new Map(c.record.weights.map((w) => [w, [...c.anchor[w]!.shape]])),
      fisher: new Map(c.record.weights.map((w) => [w, new Float32Array(float32Of(c.fisher[w]!, `fisher ${w}`))])),
      anchor: new Map(c.record.weights.map((w) => [w, c.anchor[w]!.data.slice()])),
    });
    if (first.mode === 'online') {
      if (found.length !== 1) throw malformed(found[1]!.name, 'an online EWC state has only ewc/online', 'inconsistent namespaces');
      ewc.#terms.push(load(found[0]!, EWC_ONLINE));
      ewc.#tasks.push(...found[0]!.record.tasks!);
    } else {
      found.sort((a, b) => a.record.order! - b.record.order!);
      for (const [i, f] of found.entries()) {
        if (f.record.order !== i) throw malformed(f.name, `has order ${f.record.order}; the ewc namespaces must be numbered 0 … ${found.length - 1}`, 'inconsistent namespaces');
        ewc.#terms.push(load(f, f.record.task!));
        ewc.#tasks.push(f.record.task!);
      }
    }
    return ewc;
  }
}
