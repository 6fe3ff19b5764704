/** Shared pieces of the continual tests: example batches from a seeded generator, byte comparisons. */
import assert from 'node:assert/strict';
import { Rng } from '../../src/train/index.ts';
import type { TensorData } from '../../src/tensor/index.ts';

/** Bytes of a Float32Array / Int32Array as a Uint8Array view. */
export const bytes = (a: Float32Array | Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * A batch of `n` examples: x F32 [n, 64] from `rng`, y I32 [n] = id % classes, id I32 [n] = the
 * example's position in the stream (so a test can tell examples apart).
 */
export function batchOf(rng: Rng, first: number, n: number, classes = 10): Record<string, TensorData> {
  const x = new Float32Array(n * 64);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = Int32Array.from({ length: n }, (_, i) => (first + i) % classes);
  const id = Int32Array.from({ length: n }, (_, i) => first + i);
  return { x: { dtype: 'F32', shape: [n, 64], data: bytes(x) }, y: { dtype: 'I32', shape: [n], data: bytes(y) }, id: { dtype: 'I32', shape: [n], data: bytes(id) } };
}

/** The I32 values of a tensor. */
export const ints = (t: TensorData): number[] => [...new Int32Array(t.data.slice().buffer)];

/** Asserts two field maps hold the same tensors, byte for byte. */
export function assertSameTensors(a: Record<string, TensorData>, b: Record<string, TensorData>, label: string): void {
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort(), label);
  for (const k of Object.keys(a)) {
    assert.equal(b[k]!.dtype, a[k]!.dtype, `${label}: ${k}`);
    assert.deepEqual([...b[k]!.shape], [...a[k]!.shape], `${label}: ${k}`);
    assert.ok(Buffer.from(a[k]!.data).equals(Buffer.from(b[k]!.data)), `${label}: ${k} bytes differ`);
  }
}

/** The replay fields the tests use. */
export const FIELDS = [
  { name: 'x', dtype: 'F32', shape: [64] },
  { name: 'y', dtype: 'I32', shape: [] },
  { name: 'id', dtype: 'I32', shape: [] },
] as const;
