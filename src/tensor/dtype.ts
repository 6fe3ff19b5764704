/**
 * @module The element types engram stores: the safetensors set plus opaque quantized blocks.
 */
import { EngramError } from '../errors/index.ts';

/** The dense element types, named as safetensors names them. */
export const DENSE_DTYPES = [
  'F64', 'F32', 'F16', 'BF16', 'F8_E4M3', 'F8_E5M2',
  'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL',
] as const;

/** A dense element type. */
export type DenseDType = (typeof DENSE_DTYPES)[number];

/**
 * An opaque block type such as GGUF's `Q4_K`: bytes kept as they are, with their type name. Its
 * shape counts bytes, so element size is 1.
 */
export type OpaqueDType = `opaque:${string}`;

/** Any element type a tensor may have. */
export type DType = DenseDType | OpaqueDType;

const SIZES: Readonly<Record<DenseDType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

/** True when `s` names a dtype engram knows. */
export function isDType(s: string): s is DType {
  return Object.hasOwn(SIZES, s) || /^opaque:[A-Za-z0-9_.-]+$/.test(s);
}

/** Bytes per element; 1 for opaque blocks, whose shape counts bytes. */
export function dtypeSize(dtype: DType): number {
  return dtype.startsWith('opaque:') ? 1 : SIZES[dtype as DenseDType];
}

/** Parses a dtype name, throwing `InvalidArgument` for an unknown one. */
export function parseDType(s: string): DType {
  if (!isDType(s)) throw new EngramError('InvalidArgument', `unknown dtype ${JSON.stringify(s)}`, { dtype: s });
  return s;
}

/** True for the floating-point dtypes, whose bytes group well by position (exponent planes). */
export function isFloatDType(dtype: DType): boolean {
  return dtype === 'F64' || dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype.startsWith('F8_');
}
