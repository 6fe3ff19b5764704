/** @module Shapes: element counts and byte lengths, checked against Number.MAX_SAFE_INTEGER. */
import { EngramError } from '../errors/index.ts';
import { dtypeSize, type DType } from './dtype.ts';

/** A tensor shape: non-negative integer dimensions, outermost first. */
export type Shape = readonly number[];

/** Number of elements of `shape` (1 for a 0-d scalar); throws when it is not a safe integer. */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new EngramError('InvalidArgument', `invalid dimension ${d} in shape [${shape.join(', ')}]`, { shape });
    }
    n *= d;
    if (!Number.isSafeInteger(n)) throw new EngramError('InvalidArgument', `shape [${shape.join(', ')}] is too large`, { shape });
  }
  return n;
}

/** Bytes taken by a C-order tensor of `dtype` and `shape`. */
export function byteLengthOf(dtype: DType, shape: Shape): number {
  const n = numel(shape) * dtypeSize(dtype);
  if (!Number.isSafeInteger(n)) throw new EngramError('InvalidArgument', `shape [${shape.join(', ')}] is too large`, { shape });
  return n;
}
