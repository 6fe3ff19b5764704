/** Deterministic tensors that look like trained weights (gaussian, small std), for tests. */
import { Tensor, f32ToBf16 } from '../../src/tensor/index.ts';

/** A seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` seeded random bytes (uniform over 0..255). */
export function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) >>> 0;
  return out;
}

/** `n` seeded bytes drawn from `weights` (relative frequencies of symbols 0, 1, 2, …). */
export function drawnBytes(n: number, seed: number, weights: readonly number[]): Uint8Array {
  const r = rng(seed);
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let u = r() * total;
    let s = 0;
    while (s < weights.length - 1 && u >= weights[s]!) u -= weights[s++]!;
    out[i] = s;
  }
  return out;
}

/** Gaussian float32 values with standard deviation `std`. */
export function gaussian(n: number, seed: number, std = 0.02): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(r(), 1e-12);
    const v = r();
    const m = std * Math.sqrt(-2 * Math.log(u));
    out[i] = m * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** An F32 tensor of gaussian values. */
export function f32Tensor(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.fromFloat32(gaussian(n, seed), shape);
}

/** A BF16 tensor of gaussian values. */
export function bf16Tensor(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor('BF16', shape, f32ToBf16(gaussian(n, seed)));
}
