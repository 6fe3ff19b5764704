/**
 * @module Writes a tensor as .npy, byte for byte as numpy 1.24's `np.save` does for a C-order
 * little-endian array, so a tensor read from an .npy and written back gives the same file.
 */
import { EngramError } from '../../errors/index.ts';
import { byteLengthOf, type TensorData } from '../../tensor/index.ts';
import { npyDescrOf } from './npy-dtype.ts';
import { received, type TensorMeta, type WriteSteps } from '../write-steps.ts';

// numpy pads the header so the data starts on a 64-byte boundary (format.ARRAY_ALIGN).
const ARRAY_ALIGN = 64;
// numpy leaves room to grow the first axis in place: repr(shape[0]) may grow to this many digits
// (format.GROWTH_AXIS_MAX_DIGITS, numpy ≥ 1.23).
const GROWTH_AXIS_MAX_DIGITS = 21;

/** Python's repr of a shape tuple: `()`, `(3,)`, `(2, 3)`. */
function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * The .npy bytes of a tensor (C order, little-endian). Throws `Unsupported` for dtypes numpy
 * lacks (BF16: use .safetensors) and `InvalidArgument` when `data` does not fit `shape`.
 *
 * @example writeNpy({ dtype: 'F32', shape: [3], data: new Uint8Array(12) })
 */
export function writeNpy(t: TensorData): Uint8Array {
  const header = npyHeader({ dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength });
  const out = new Uint8Array(header.byteLength + t.data.byteLength);
  out.set(header);
  out.set(t.data, header.byteLength);
  return out;
}

/**
 * The header of an .npy file (magic, version, padded dict) that the tensor's `byteLength` bytes
 * follow, from its description alone. Throws as {@link writeNpy} does.
 */
export function npyHeader(t: Pick<TensorMeta, 'dtype' | 'shape' | 'byteLength'>): Uint8Array {
  const descr = npyDescrOf(t.dtype);
  const want = byteLengthOf(t.dtype, t.shape);
  if (t.byteLength !== want) {
    throw new EngramError('InvalidArgument', `${t.dtype}[${t.shape.join(', ')}] needs ${want} bytes, got ${t.byteLength}`, {
      dtype: t.dtype, shape: t.shape, bytes: t.byteLength,
    });
  }
  // Keys in sorted order, each followed by ', ', exactly as format._write_array_header builds it.
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr(t.shape)}, }`;
  if (t.shape.length > 0) header += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(t.shape[0]).length));
  // format._wrap_header: hlen counts the '\n'; padlen is 1..64, never 0.
  let version = 1;
  let lengthWidth = 2;
  const hlen = header.length + 1;
  let padlen = ARRAY_ALIGN - ((6 + 2 + lengthWidth + hlen) % ARRAY_ALIGN);
  if (hlen + padlen > 0xffff) {
    version = 2;
    lengthWidth = 4;
    padlen = ARRAY_ALIGN - ((6 + 2 + lengthWidth + hlen) % ARRAY_ALIGN);
  }
  const prefix = 8 + lengthWidth;
  const out = new Uint8Array(prefix + hlen + padlen);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (lengthWidth === 2) view.setUint16(8, hlen + padlen, true);
  else view.setUint32(8, hlen + padlen, true);
  // The header is ASCII: the descr and digits only.
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.fill(0x20, prefix + header.length, prefix + hlen + padlen - 1);
  out[prefix + hlen + padlen - 1] = 0x0a;
  return out;
}

/** {@link writeNpy} as steps (see write-steps.ts): the header from the description, then the tensor. */
export function* npySteps(t: TensorMeta): WriteSteps {
  yield npyHeader(t);
  yield received(yield 0, 0);
}
