/**
 * @module W1: about 1 GiB of float32 weights shaped and distributed like a trained decoder-only
 * transformer (d=1024, MLP 4096): token and position embeddings at std 0.02, attention matrices at
 * 0.02, MLP up at sqrt(2/fan_in), residual projections scaled by 1/sqrt(2L), layer-norm weights
 * near 1, biases near 0, and about one value in 256 of every matrix four times heavier (trained
 * weights have heavier tails than a Gaussian). Seeded, so every run saves the same bytes.
 */
import type { Shape } from '../../src/index.ts';
import { cachedTensorSet } from '../cached-tensor-set.ts';
import { Prng } from '../prng.ts';
import { layoutSlots, type TensorSet } from '../tensor-set.ts';

const MiB = 1024 * 1024;
const D = 1024;
const FF = 4096;
const CTX = 2048;

/** How one tensor of the workload is drawn. */
export interface WeightSpec {
  readonly name: string;
  readonly shape: Shape;
  readonly mean: number;
  readonly std: number;
  /** Heavy tail: about one value in `every` is `scale` times larger. */
  readonly tail?: { readonly every: number; readonly scale: number };
}

/** The name of a tensor of exactly 4 MiB (1024 × 1024 float32), for the lazy-load figure. */
export const W1_LAZY_TENSOR = 'model/layers.0.attn.q_proj.weight';

/** The tensors of a transformer of about `targetBytes` of float32. */
export function transformerWeightSpecs(targetBytes: number): WeightSpec[] {
  const targetMiB = targetBytes / MiB;
  const layers = Math.max(1, Math.round((targetMiB * 18) / 1024));
  const embedBytes = Math.max(4 * MiB, targetBytes - CTX * D * 4 - layers * 48 * MiB);
  const vocab = Math.max(1024, Math.round(embedBytes / (D * 4)));
  const tail = { every: 256, scale: 4 };
  const resid = 0.02 / Math.sqrt(2 * layers);
  const specs: WeightSpec[] = [
    { name: 'model/embed.tokens.weight', shape: [vocab, D], mean: 0, std: 0.02, tail },
    { name: 'model/embed.positions.weight', shape: [CTX, D], mean: 0, std: 0.01, tail },
  ];
  for (let l = 0; l < layers; l++) {
    const p = `model/layers.${l}`;
    specs.push(
      { name: `${p}.ln1.weight`, shape: [D], mean: 1, std: 0.05 },
      { name: `${p}.ln1.bias`, shape: [D], mean: 0, std: 0.01 },
      { name: `${p}.attn.q_proj.weight`, shape: [D, D], mean: 0, std: 0.02, tail },
      { name: `${p}.attn.q_proj.bias`, shape: [D], mean: 0, std: 0.01 },
      { name: `${p}.attn.k_proj.weight`, shape: [D, D], mean: 0, std: 0.02, tail },
      { name: `${p}.attn.k_proj.bias`, shape: [D], mean: 0, std: 0.01 },
      { name: `${p}.attn.v_proj.weight`, shape: [D, D], mean: 0, std: 0.02, tail },
      { name: `${p}.attn.v_proj.bias`, shape: [D], mean: 0, std: 0.01 },
      { name: `${p}.attn.o_proj.weight`, shape: [D, D], mean: 0, std: resid, tail },
      { name: `${p}.attn.o_proj.bias`, shape: [D], mean: 0, std: 0.01 },
      { name: `${p}.ln2.weight`, shape: [D], mean: 1, std: 0.05 },
      { name: `${p}.ln2.bias`, shape: [D], mean: 0, std: 0.01 },
      { name: `${p}.mlp.up.weight`, shape: [FF, D], mean: 0, std: Math.sqrt(2 / D), tail },
      { name: `${p}.mlp.up.bias`, shape: [FF], mean: 0, std: 0.01 },
      { name: `${p}.mlp.down.weight`, shape: [D, FF], mean: 0, std: resid, tail },
      { name: `${p}.mlp.down.bias`, shape: [D], mean: 0, std: 0.01 },
    );
  }
  specs.push({ name: 'model/final_ln.weight', shape: [D], mean: 1, std: 0.05 }, { name: 'model/final_ln.bias', shape: [D], mean: 0, std: 0.01 });
  return specs;
}

/** Draws the tensors of `specs` into one buffer (one generator, in order: deterministic). */
export function generateWeights(specs: readonly WeightSpec[], seed: number): TensorSet {
  const { slots, size, rawBytes } = layoutSlots(specs.map((s) => ({ name: s.name, dtype: 'F32' as const, shape: s.shape })));
  const data = new Uint8Array(size);
  const prng = new Prng(seed);
  specs.forEach((s, i) => {
    const slot = slots[i]!;
    prng.fillNormal(new Float32Array(data.buffer, slot.offset, slot.byteLength / 4), s.mean, s.std, s.tail);
  });
  return { slots, data, rawBytes };
}

/** The W1 cache key for a size. */
export function w1Key(targetBytes: number): string {
  return `w1-v1-${Math.round(targetBytes / MiB)}MiB`;
}

/** W1 of about `targetBytes`, generated once and then read from bench/.cache/. */
export async function loadW1(targetBytes: number, into?: Uint8Array): Promise<TensorSet> {
  return cachedTensorSet(w1Key(targetBytes), () => generateWeights(transformerWeightSpecs(targetBytes), 0x5eed_0001), into);
}
