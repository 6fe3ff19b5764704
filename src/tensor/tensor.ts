/** @module Tensor: a named, typed, shaped zero-copy view over little-endian C-order bytes. */
import { EngramError } from '../errors/index.ts';
import type { DType } from './dtype.ts';
import { bf16ToF32, f16ToF32 } from './half.ts';
import { byteLengthOf, numel, type Shape } from './shape.ts';

/**
 * A tensor: dtype, shape and its little-endian C-order bytes. The bytes are a view, never copied on
 * construction, so a Tensor over a 1 GiB buffer costs nothing.
 *
 * @example
 * const t = new Tensor('F32', [2, 2], new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
 * t.toFloat32(); // Float32Array [1, 2, 3, 4]
 */
export class Tensor {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly data: Uint8Array;

  constructor(dtype: DType, shape: Shape, data: Uint8Array) {
    const want = byteLengthOf(dtype, shape);
    if (data.byteLength !== want) {
      throw new EngramError('InvalidArgument', `tensor of ${dtype}[${shape.join(', ')}] needs ${want} bytes, got ${data.byteLength}`, {
        dtype, shape, bytes: data.byteLength,
      });
    }
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = data;
  }

  /** Builds an F32 tensor from a Float32Array (a view, no copy). */
  static fromFloat32(values: Float32Array, shape: Shape = [values.length]): Tensor {
    return new Tensor('F32', shape, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }

  /** Number of elements. */
  get numel(): number {
    return numel(this.shape);
  }

  /** Byte length of the data. */
  get byteLength(): number {
    return this.data.byteLength;
  }

  /**
   * The values as a Float32Array: a view for F32 when aligned, otherwise a converted copy
   * (F64, F16, BF16 and the integer types are converted; opaque types refuse).
   */
  toFloat32(): Float32Array {
    return toFloat32(this.dtype, this.data);
  }
}

/** Converts little-endian bytes of `dtype` to float32 values. */
export function toFloat32(dtype: DType, data: Uint8Array): Float32Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (dtype) {
    case 'F32':
      if (data.byteOffset % 4 === 0) return new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
      return new Float32Array(data.slice().buffer);
    case 'F16': return f16ToF32(data);
    case 'BF16': return bf16ToF32(data);
    case 'F64': return Float32Array.from({ length: data.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true));
    case 'I64': return Float32Array.from({ length: data.byteLength / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
    case 'U64': return Float32Array.from({ length: data.byteLength / 8 }, (_, i) => Number(view.getBigUint64(i * 8, true)));
    case 'I32': return Float32Array.from({ length: data.byteLength / 4 }, (_, i) => view.getInt32(i * 4, true));
    case 'U32': return Float32Array.from({ length: data.byteLength / 4 }, (_, i) => view.getUint32(i * 4, true));
    case 'I16': return Float32Array.from({ length: data.byteLength / 2 }, (_, i) => view.getInt16(i * 2, true));
    case 'U16': return Float32Array.from({ length: data.byteLength / 2 }, (_, i) => view.getUint16(i * 2, true));
    case 'I8': return Float32Array.from(new Int8Array(data.buffer, data.byteOffset, data.byteLength));
    case 'U8': case 'BOOL': return Float32Array.from(data);
    default:
      throw new EngramError('Unsupported', `cannot convert ${dtype} to float32`, { dtype });
  }
}
