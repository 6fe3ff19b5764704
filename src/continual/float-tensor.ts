/**
 * @module Float32 views of plain tensors: EWC reads weights, Fisher diagonals and anchors as
 * Float32Arrays and hands back TensorData whose bytes it owns.
 */
import { byteLengthOf, toFloat32, type TensorData } from '../tensor/index.ts';
import { invalid } from './continual-error.ts';

/**
 * The values of an F32 tensor as a Float32Array (a view when the bytes are 4-byte aligned, else a
 * copy); `InvalidArgument` for another dtype or a byte length that does not match the shape.
 */
export function float32Of(t: TensorData, what: string): Float32Array {
  if (!t || typeof t !== 'object' || !(t.data instanceof Uint8Array) || !Array.isArray(t.shape)) throw invalid(`${what} is not a tensor { dtype, shape, data }`, { item: what });
  if (t.dtype !== 'F32') throw invalid(`${what} must be F32, got ${String(t.dtype)}`, { item: what, dtype: t.dtype });
  const want = byteLengthOf('F32', t.shape);
  if (t.data.byteLength !== want) throw invalid(`${what}: F32[${t.shape.join(', ')}] needs ${want} bytes, got ${t.data.byteLength}`, { item: what });
  return toFloat32('F32', t.data);
}

/** An F32 tensor over a copy of `values`. */
export function float32Tensor(values: Float32Array, shape: readonly number[]): TensorData {
  const copy = new Float32Array(values);
  return { dtype: 'F32', shape: [...shape], data: new Uint8Array(copy.buffer) };
}

/** The bytes of a Float32Array (a view, no copy). */
export function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
