/**
 * @module AdamMlp: a residual MLP (input → width, `blocks` × [RMSNorm → dense → tanh, added to the
 * residual stream], RMSNorm → classes) trained with a hand-written Adam (PyTorch's update rule:
 * β1 0.9, β2 0.999, ε 1e-8, no weight decay) in plain Float32Array arithmetic. It exists so that
 * the W3/W4 checkpoint sequences are what real optimisation produces — every weight moving a
 * little each step, moments that drift — rather than synthetic noise.
 */
import { Prng } from '../prng.ts';
import { layoutSlots, type TensorSet, type TensorSlot } from '../tensor-set.ts';
import { denseBackward, denseForward } from './dense-kernels.ts';

/** Sizes of the network. */
export interface MlpConfig {
  readonly input: number;
  readonly width: number;
  readonly blocks: number;
  readonly classes: number;
}

/** W3/W4's network: 4.16 M parameters, 15.9 MiB of float32; each block's matrix is ~9.9 % of it. */
export const BENCH_MLP: MlpConfig = { input: 64, width: 640, blocks: 10, classes: 10 };

const RMS_EPS = 1e-6;

interface View {
  readonly slot: TensorSlot;
  /** Offset and length in floats. */
  readonly at: number;
  readonly length: number;
}

/** The parameter tensors of a network, in order, with their shapes. */
export function mlpParamSpecs(c: MlpConfig): { name: string; shape: number[] }[] {
  const specs = [
    { name: 'model/in.weight', shape: [c.width, c.input] },
    { name: 'model/in.bias', shape: [c.width] },
  ];
  for (let l = 0; l < c.blocks; l++) {
    specs.push(
      { name: `model/blocks.${l}.norm.weight`, shape: [c.width] },
      { name: `model/blocks.${l}.fc.weight`, shape: [c.width, c.width] },
      { name: `model/blocks.${l}.fc.bias`, shape: [c.width] },
    );
  }
  specs.push(
    { name: 'model/out_norm.weight', shape: [c.width] },
    { name: 'model/head.weight', shape: [c.classes, c.width] },
    { name: 'model/head.bias', shape: [c.classes] },
  );
  return specs;
}

/** The optimizer-state tensor names of parameter `name`. */
export function momentNames(name: string): [string, string] {
  const base = name.replace(/^model\//, 'optimizer/');
  return [`${base}.exp_avg`, `${base}.exp_avg_sq`];
}

/** A residual MLP and its Adam state. */
export class AdamMlp {
  readonly config: MlpConfig;
  readonly lr: number;
  readonly beta1 = 0.9;
  readonly beta2 = 0.999;
  readonly eps = 1e-8;
  /** Adam steps taken. */
  step = 0;
  readonly #slots: readonly TensorSlot[];
  readonly #size: number;
  readonly #p: Float32Array;
  readonly #g: Float32Array;
  readonly #m: Float32Array;
  readonly #v: Float32Array;
  readonly #views = new Map<string, View>();
  #trainable: ReadonlySet<string> | null = null;
  #acts: Activations | undefined;

  constructor(config: MlpConfig, seed: number, lr = 1e-3) {
    this.config = config;
    this.lr = lr;
    const { slots, size } = layoutSlots(mlpParamSpecs(config).map((s) => ({ ...s, dtype: 'F32' as const })));
    this.#slots = slots;
    this.#size = size;
    const n = size / 4;
    this.#p = new Float32Array(n);
    this.#g = new Float32Array(n);
    this.#m = new Float32Array(n);
    this.#v = new Float32Array(n);
    for (const slot of slots) this.#views.set(slot.name, { slot, at: slot.offset / 4, length: slot.byteLength / 4 });
    const prng = new Prng(seed);
    for (const slot of slots) {
      const p = this.#param(slot.name);
      if (slot.name.endsWith('norm.weight')) p.fill(1);
      else if (slot.name.endsWith('.bias')) p.fill(0);
      else prng.fillNormal(p, 0, slot.name === 'model/in.weight' ? Math.sqrt(2 / config.input) : 1 / Math.sqrt(config.width));
    }
  }

  /** A network whose parameters are copied from `set` (by name), with a fresh optimizer. */
  static fromParams(config: MlpConfig, set: TensorSet, lr = 1e-3): AdamMlp {
    const net = new AdamMlp(config, 0, lr);
    for (const slot of set.slots) {
      if (!net.#views.has(slot.name)) continue;
      net.#param(slot.name).set(new Float32Array(set.data.buffer, set.data.byteOffset + slot.offset, slot.byteLength / 4));
    }
    return net;
  }

  /** Names of every parameter tensor. */
  get paramNames(): string[] {
    return this.#slots.map((s) => s.name);
  }

  /** Byte length of parameter `name`. */
  paramBytes(name: string): number {
    return this.#views.get(name)!.slot.byteLength;
  }

  /** Only these parameters are updated (null: all). Frozen ones keep their bytes exactly. */
  setTrainable(names: ReadonlySet<string> | null): void {
    this.#trainable = names;
  }

  #isTrainable(name: string): boolean {
    return this.#trainable === null || this.#trainable.has(name);
  }

  #param(name: string): Float32Array {
    const v = this.#views.get(name)!;
    return this.#p.subarray(v.at, v.at + v.length);
  }

  #grad(name: string): Float32Array | null {
    if (!this.#isTrainable(name)) return null;
    const v = this.#views.get(name)!;
    return this.#g.subarray(v.at, v.at + v.length);
  }

  /** One Adam step on a batch (`x`: batch × input, `y`: labels). Returns the mean cross-entropy. */
  trainStep(x: Float32Array, y: Int32Array, batch: number): number {
    const { input, width: d, blocks: L, classes: C } = this.config;
    if (this.#acts?.batch !== batch) this.#acts = new Activations(this.config, batch);
    const a = this.#acts;
    // Forward.
    denseForward(this.#param('model/in.weight'), this.#param('model/in.bias'), x, a.h[0]!, batch, input, d);
    for (let l = 0; l < L; l++) {
      rmsNormForward(a.h[l]!, this.#param(`model/blocks.${l}.norm.weight`), a.n[l]!, a.r[l]!, a.u[l]!, batch, d);
      denseForward(this.#param(`model/blocks.${l}.fc.weight`), this.#param(`model/blocks.${l}.fc.bias`), a.u[l]!, a.z[l]!, batch, d, d);
      const z = a.z[l]!, h = a.h[l]!, hn = a.h[l + 1]!;
      for (let i = 0; i < batch * d; i++) {
        const t = Math.tanh(z[i]!);
        z[i] = t;
        hn[i] = h[i]! + t;
      }
    }
    rmsNormForward(a.h[L]!, this.#param('model/out_norm.weight'), a.n[L]!, a.r[L]!, a.u[L]!, batch, d);
    denseForward(this.#param('model/head.weight'), this.#param('model/head.bias'), a.u[L]!, a.logits, batch, d, C);
    let loss = 0;
    for (let b = 0; b < batch; b++) {
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, a.logits[b * C + c]!);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(a.logits[b * C + c]! - max);
      for (let c = 0; c < C; c++) {
        const p = Math.exp(a.logits[b * C + c]! - max) / sum;
        a.dlogits[b * C + c] = (p - (c === y[b] ? 1 : 0)) / batch;
      }
      loss += -(a.logits[b * C + y[b]!]! - max - Math.log(sum));
    }
    // Backward: dh holds dLoss/dh of the residual stream, from the top down.
    denseBackward(this.#param('model/head.weight'), a.u[L]!, a.dlogits, a.du, this.#grad('model/head.weight'), this.#grad('model/head.bias'), batch, d, C);
    rmsNormBackward(a.n[L]!, a.r[L]!, this.#param('model/out_norm.weight'), a.du, a.dh, this.#grad('model/out_norm.weight'), batch, d);
    for (let l = L - 1; l >= 0; l--) {
      const z = a.z[l]!;
      for (let i = 0; i < batch * d; i++) a.da[i] = a.dh[i]! * (1 - z[i]! * z[i]!);
      denseBackward(this.#param(`model/blocks.${l}.fc.weight`), a.u[l]!, a.da, a.du, this.#grad(`model/blocks.${l}.fc.weight`), this.#grad(`model/blocks.${l}.fc.bias`), batch, d, d);
      rmsNormBackward(a.n[l]!, a.r[l]!, this.#param(`model/blocks.${l}.norm.weight`), a.du, a.dhn, this.#grad(`model/blocks.${l}.norm.weight`), batch, d);
      for (let i = 0; i < batch * d; i++) a.dh[i] = a.dh[i]! + a.dhn[i]!;
    }
    denseBackward(this.#param('model/in.weight'), x, a.dh, null, this.#grad('model/in.weight'), this.#grad('model/in.bias'), batch, input, d);
    this.#adam();
    return loss / batch;
  }

  /** PyTorch's Adam update on every trainable parameter. */
  #adam(): void {
    this.step++;
    const b1 = this.beta1, b2 = this.beta2, eps = this.eps;
    const bc1 = 1 - b1 ** this.step;
    const bc2sqrt = Math.sqrt(1 - b2 ** this.step);
    const stepSize = this.lr / bc1;
    const p = this.#p, g = this.#g, m = this.#m, v = this.#v;
    for (const view of this.#views.values()) {
      if (!this.#isTrainable(view.slot.name)) continue;
      const end = view.at + view.length;
      for (let i = view.at; i < end; i++) {
        const gi = g[i]!;
        const mi = b1 * m[i]! + (1 - b1) * gi;
        const vi = b2 * v[i]! + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i]! - (stepSize * mi) / (Math.sqrt(vi) / bc2sqrt + eps);
      }
    }
  }

  /** A copy of the parameters, and with `moments` also Adam's exp_avg and exp_avg_sq, as a TensorSet. */
  checkpoint(moments: boolean): TensorSet {
    const specs: { name: string; dtype: 'F32'; shape: readonly number[] }[] = this.#slots.map((s) => ({ name: s.name, dtype: 'F32', shape: s.shape }));
    if (moments) {
      for (const s of this.#slots) {
        const [avg, sq] = momentNames(s.name);
        specs.push({ name: avg, dtype: 'F32', shape: s.shape }, { name: sq, dtype: 'F32', shape: s.shape });
      }
    }
    const { slots, size, rawBytes } = layoutSlots(specs);
    const data = new Uint8Array(size);
    data.set(new Uint8Array(this.#p.buffer, 0, this.#size), 0);
    if (moments) {
      // Parameters, then per parameter its two moments: the same order layoutSlots used above.
      let k = this.#slots.length;
      for (const s of this.#slots) {
        const view = this.#views.get(s.name)!;
        data.set(new Uint8Array(this.#m.buffer, view.at * 4, s.byteLength), slots[k++]!.offset);
        data.set(new Uint8Array(this.#v.buffer, view.at * 4, s.byteLength), slots[k++]!.offset);
      }
    }
    return { slots, data, rawBytes };
  }
}

/** Forward and backward scratch buffers for one batch size (allocated once, reused every step). */
class Activations {
  readonly batch: number;
  readonly h: Float32Array[] = [];
  readonly n: Float32Array[] = [];
  readonly u: Float32Array[] = [];
  readonly r: Float32Array[] = [];
  readonly z: Float32Array[] = [];
  readonly logits: Float32Array;
  readonly dlogits: Float32Array;
  readonly dh: Float32Array;
  readonly dhn: Float32Array;
  readonly du: Float32Array;
  readonly da: Float32Array;

  constructor(c: MlpConfig, batch: number) {
    this.batch = batch;
    const bd = batch * c.width;
    for (let l = 0; l <= c.blocks; l++) {
      this.h.push(new Float32Array(bd));
      this.n.push(new Float32Array(bd));
      this.u.push(new Float32Array(bd));
      this.r.push(new Float32Array(batch));
      if (l < c.blocks) this.z.push(new Float32Array(bd));
    }
    this.logits = new Float32Array(batch * c.classes);
    this.dlogits = new Float32Array(batch * c.classes);
    this.dh = new Float32Array(bd);
    this.dhn = new Float32Array(bd);
    this.du = new Float32Array(bd);
    this.da = new Float32Array(bd);
  }
}

/** n = h / rms(h), u = n ⊙ gain, per sample; keeps n and rms for the backward. */
function rmsNormForward(h: Float32Array, gain: Float32Array, n: Float32Array, r: Float32Array, u: Float32Array, batch: number, d: number): void {
  for (let b = 0; b < batch; b++) {
    const o = b * d;
    let ss = 0;
    for (let i = 0; i < d; i++) ss += h[o + i]! * h[o + i]!;
    const rms = Math.sqrt(ss / d + RMS_EPS);
    r[b] = rms;
    for (let i = 0; i < d; i++) {
      const ni = h[o + i]! / rms;
      n[o + i] = ni;
      u[o + i] = ni * gain[i]!;
    }
  }
}

/** Backward of {@link rmsNormForward}: dh = (dn − n·mean(dn ⊙ n)) / rms with dn = du ⊙ gain; dgain = Σ_b du ⊙ n. */
function rmsNormBackward(n: Float32Array, r: Float32Array, gain: Float32Array, du: Float32Array, dh: Float32Array, dgain: Float32Array | null, batch: number, d: number): void {
  if (dgain) dgain.fill(0);
  for (let b = 0; b < batch; b++) {
    const o = b * d;
    let dot = 0;
    for (let i = 0; i < d; i++) {
      const g = du[o + i]!;
      dot += g * gain[i]! * n[o + i]!;
      if (dgain) dgain[i] = dgain[i]! + g * n[o + i]!;
    }
    const mean = dot / d;
    const inv = 1 / r[b]!;
    for (let i = 0; i < d; i++) dh[o + i] = (du[o + i]! * gain[i]! - n[o + i]! * mean) * inv;
  }
}
