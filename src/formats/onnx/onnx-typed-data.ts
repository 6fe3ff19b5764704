/**
 * @module Decodes TensorProto's typed repeated fields (float_data, int32_data, …), packed or not,
 * into engram's canonical little-endian bytes. ONNX stores every ≤ 32-bit integer type, bool,
 * float16, bfloat16 and float8 as int32 varints holding the value (or its bit pattern).
 */
import { dtypeSize, type DenseDType } from '../../tensor/index.ts';
import type { OnnxTypedField } from './onnx-data-type.ts';

/** One occurrence of a typed field: its wire type and payload (a packed run or a single value). */
export interface TypedChunk {
  readonly wire: number;
  readonly bytes: Uint8Array;
  /** File offset of the payload, for errors. */
  readonly at: number;
}

/** Why a typed run could not be decoded, with the file offset it refers to. */
export class TypedDataError extends Error {
  constructor(readonly reason: string, readonly at: number) {
    super(reason);
  }
}

/** The minimal varint encoding of an unsigned 64-bit value. */
export function encodeVarint(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? b | 0x80 : b);
  } while (v > 0n);
  return new Uint8Array(out);
}

function varints(c: TypedChunk, out: bigint[]): void {
  const b = c.bytes;
  let i = 0;
  while (i < b.length) {
    const start = i;
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= b.length) throw new TypedDataError('packed varint is truncated', c.at + start);
      if (i - start >= 10) throw new TypedDataError('packed varint is longer than 10 bytes', c.at + start);
      const x = b[i++]!;
      v |= BigInt(x & 0x7f) << shift;
      shift += 7n;
      if ((x & 0x80) === 0) break;
    }
    out.push(BigInt.asUintN(64, v));
  }
}

/**
 * Canonical bytes of the values in `chunks` for `dtype`. Fixed-width fields (float_data,
 * double_data) are copied; varint fields are truncated to the dtype's width, as ONNX writes them.
 */
export function decodeTypedData(field: OnnxTypedField, dtype: DenseDType, chunks: readonly TypedChunk[]): Uint8Array {
  const width = field === 'float_data' ? 4 : field === 'double_data' ? 8 : 0;
  if (width > 0) {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (const c of chunks) {
      const ok = c.wire === 2 ? c.bytes.length % width === 0 : c.wire === (width === 4 ? 5 : 1);
      if (!ok) throw new TypedDataError(`${field} has wire type ${c.wire} or a length that is not a multiple of ${width}`, c.at);
      parts.push(c.bytes);
      n += c.bytes.length;
    }
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
  const values: bigint[] = [];
  for (const c of chunks) {
    if (c.wire !== 0 && c.wire !== 2) throw new TypedDataError(`${field} has wire type ${c.wire}`, c.at);
    varints(c, values);
  }
  const size = dtypeSize(dtype);
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  // A value the dtype cannot hold is malformed, not something to wrap: truncating it would pass on
  // a different value (300 as an INT8, 2 as a BOOL). Either signedness of the width is accepted.
  const low = size === 8 ? undefined : -(1n << BigInt(8 * size - 1));
  const high = dtype === 'BOOL' ? 1n : size === 8 ? undefined : (1n << BigInt(8 * size)) - 1n;
  values.forEach((v, k) => {
    const signed = BigInt.asIntN(64, v);
    if (low !== undefined && high !== undefined && (signed < (dtype === 'BOOL' ? 0n : low) || signed > high)) {
      throw new TypedDataError(`${field} value ${signed} does not fit ${dtype}`, chunks[0]?.at ?? 0);
    }
    if (size === 8) view.setBigUint64(k * 8, v, true);
    else if (size === 4) view.setUint32(k * 4, Number(v & 0xffffffffn), true);
    else if (size === 2) view.setUint16(k * 2, Number(v & 0xffffn), true);
    else out[k] = Number(v & 0xffn);
  });
  return out;
}
