/**
 * @module W2: W1 converted to bfloat16 (the top 16 bits, rounded to nearest even) with engram's own
 * f32 → bf16 conversion, as a mixed-precision checkpoint would hold it.
 */
import { f32ToBf16 } from '../../src/index.ts';
import { cachedTensorSet } from '../cached-tensor-set.ts';
import { layoutSlots, slotFloat32, type TensorSet } from '../tensor-set.ts';

/** The bfloat16 copy of a float32 tensor set. */
export function toBf16Set(f32: TensorSet): TensorSet {
  const { slots, size, rawBytes } = layoutSlots(f32.slots.map((s) => ({ name: s.name, dtype: 'BF16' as const, shape: s.shape })));
  const data = new Uint8Array(size);
  f32.slots.forEach((s, i) => data.set(f32ToBf16(slotFloat32(f32, s)), slots[i]!.offset));
  return { slots, data, rawBytes };
}

/** W2 for the W1 of cache key `w1Key`, converted once and then read from bench/.cache/. */
export async function loadW2(w1Key: string, w1: () => Promise<TensorSet>): Promise<TensorSet> {
  return cachedTensorSet(`${w1Key.replace(/^w1-/, 'w2-')}`, async () => toBf16Set(await w1()));
}
