/**
 * @module Byte reorderings between storage layouts: Fortran → C order and byte swapping. Formats
 * use them to turn what a file holds into engram's canonical little-endian C-order bytes and back.
 */
import type { Shape } from './shape.ts';

/** Reverses the byte order of every `width`-byte element (big ⇄ little endian). Returns a new array. */
export function byteswap(data: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  if (width <= 1) {
    out.set(data);
    return out;
  }
  for (let i = 0; i < data.byteLength; i += width) {
    for (let j = 0; j < width; j++) out[i + j] = data[i + width - 1 - j]!;
  }
  return out;
}

/**
 * Converts between Fortran (column-major) and C (row-major) element order. `toC` true reads
 * Fortran-ordered `data` of `shape` and returns C order; false does the reverse.
 */
export function reorderFortran(data: Uint8Array, shape: Shape, width: number, toC: boolean): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  const nd = shape.length;
  if (nd <= 1 || data.byteLength === 0) {
    out.set(data);
    return out;
  }
  // Strides in elements for C and F order of the same logical shape.
  const cStride = new Array<number>(nd);
  const fStride = new Array<number>(nd);
  let c = 1;
  let f = 1;
  for (let d = nd - 1; d >= 0; d--) { cStride[d] = c; c *= shape[d]!; }
  for (let d = 0; d < nd; d++) { fStride[d] = f; f *= shape[d]!; }
  const total = c;
  const idx = new Array<number>(nd).fill(0);
  for (let i = 0; i < total; i++) {
    // i walks C order; idx is its multi-index.
    let fi = 0;
    for (let d = 0; d < nd; d++) fi += idx[d]! * fStride[d]!;
    const [src, dst] = toC ? [fi, i] : [i, fi];
    out.set(data.subarray(src * width, src * width + width), dst * width);
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}
