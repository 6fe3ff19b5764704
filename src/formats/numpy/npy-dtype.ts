/**
 * @module numpy type strings (`descr`, e.g. '<f4') ⇄ engram dtypes. Only plain numeric and bool
 * types map; everything else (objects, strings, structs, complex, datetimes) is not a tensor
 * engram can hold, and callers keep such files as opaque bytes.
 */
import { EngramError } from '../../errors/index.ts';
import type { DType } from '../../tensor/index.ts';

const BY_KIND_AND_WIDTH: Readonly<Record<string, DType>> = {
  f2: 'F16', f4: 'F32', f8: 'F64',
  i1: 'I8', i2: 'I16', i4: 'I32', i8: 'I64',
  u1: 'U8', u2: 'U16', u4: 'U32', u8: 'U64',
  b1: 'BOOL',
};

/** The dtypes numpy has a type for (exactly those this file maps); BF16 and FP8 are not among them. */
export const NUMPY_DTYPES: ReadonlySet<DType> = new Set<DType>(Object.values(BY_KIND_AND_WIDTH));

/** A numpy type string, understood. */
export interface NpyType {
  readonly dtype: DType;
  /** The file stores elements big-endian (only ever true for multi-byte types). */
  readonly bigEndian: boolean;
}

/**
 * Reads a numpy `descr` string. Returns undefined for types engram does not hold as tensors.
 * `=` (native) and `|` (not applicable) are read as little-endian: every platform numpy writes
 * native-order files on today is little-endian, and `|` only appears on one-byte types.
 */
export function parseNpyDescr(descr: string): NpyType | undefined {
  const m = /^([<>=|]?)([a-z][0-9]+)$/.exec(descr);
  if (!m) return undefined;
  const dtype = BY_KIND_AND_WIDTH[m[2]!];
  if (dtype === undefined) return undefined;
  return { dtype, bigEndian: m[1] === '>' && m[2]!.slice(1) !== '1' };
}

/**
 * The `descr` numpy 1.24 writes for `dtype` (little-endian; '|' for one-byte types). Throws
 * `Unsupported` for dtypes numpy has no type for (BF16, FP8, opaque blocks).
 */
export function npyDescrOf(dtype: DType): string {
  for (const [kw, d] of Object.entries(BY_KIND_AND_WIDTH)) {
    if (d === dtype) return `${kw.endsWith('1') ? '|' : '<'}${kw}`;
  }
  throw new EngramError('Unsupported', `numpy has no ${dtype} type; write this tensor as .safetensors instead`, { dtype });
}
