/**
 * @module The ggml tensor types a GGUF file may name: id, block size (elements per block) and
 * type size (bytes per block). Dense types map to engram dtypes; quantized ones stay opaque bytes.
 */
import type { DenseDType } from '../../tensor/index.ts';

/** One ggml tensor type. */
export interface GgmlType {
  /** The numeric id stored in a GGUF tensor info. */
  readonly id: number;
  /** The name ggml gives it (`Q4_0`, `BF16`, …). */
  readonly name: string;
  /** Elements per block (1 for dense types, 32 or 256 for quantized ones). */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
  /** The engram dtype for a dense type; absent for a quantized one, kept as `opaque:<name>`. */
  readonly dtype?: DenseDType;
}

// Sizes follow the block structs of ggml-common.h (QK_K = 256). Ids 4, 5 (Q4_2, Q4_3), 31–33
// (Q4_0_4_4…) and 36–38 (IQ4_NL_4_4…) were removed from GGUF files by ggml; they are refused as
// unsupported like any id not listed here, so such a file is kept opaque.
const TABLE: readonly GgmlType[] = [
  { id: 0, name: 'F32', blockSize: 1, typeSize: 4, dtype: 'F32' },
  { id: 1, name: 'F16', blockSize: 1, typeSize: 2, dtype: 'F16' },
  { id: 2, name: 'Q4_0', blockSize: 32, typeSize: 18 },
  { id: 3, name: 'Q4_1', blockSize: 32, typeSize: 20 },
  { id: 6, name: 'Q5_0', blockSize: 32, typeSize: 22 },
  { id: 7, name: 'Q5_1', blockSize: 32, typeSize: 24 },
  { id: 8, name: 'Q8_0', blockSize: 32, typeSize: 34 },
  { id: 9, name: 'Q8_1', blockSize: 32, typeSize: 36 },
  { id: 10, name: 'Q2_K', blockSize: 256, typeSize: 84 },
  { id: 11, name: 'Q3_K', blockSize: 256, typeSize: 110 },
  { id: 12, name: 'Q4_K', blockSize: 256, typeSize: 144 },
  { id: 13, name: 'Q5_K', blockSize: 256, typeSize: 176 },
  { id: 14, name: 'Q6_K', blockSize: 256, typeSize: 210 },
  { id: 15, name: 'Q8_K', blockSize: 256, typeSize: 292 },
  { id: 16, name: 'IQ2_XXS', blockSize: 256, typeSize: 66 },
  { id: 17, name: 'IQ2_XS', blockSize: 256, typeSize: 74 },
  { id: 18, name: 'IQ3_XXS', blockSize: 256, typeSize: 98 },
  { id: 19, name: 'IQ1_S', blockSize: 256, typeSize: 50 },
  { id: 20, name: 'IQ4_NL', blockSize: 32, typeSize: 18 },
  { id: 21, name: 'IQ3_S', blockSize: 256, typeSize: 110 },
  { id: 22, name: 'IQ2_S', blockSize: 256, typeSize: 82 },
  { id: 23, name: 'IQ4_XS', blockSize: 256, typeSize: 136 },
  { id: 24, name: 'I8', blockSize: 1, typeSize: 1, dtype: 'I8' },
  { id: 25, name: 'I16', blockSize: 1, typeSize: 2, dtype: 'I16' },
  { id: 26, name: 'I32', blockSize: 1, typeSize: 4, dtype: 'I32' },
  { id: 27, name: 'I64', blockSize: 1, typeSize: 8, dtype: 'I64' },
  { id: 28, name: 'F64', blockSize: 1, typeSize: 8, dtype: 'F64' },
  { id: 29, name: 'IQ1_M', blockSize: 256, typeSize: 56 },
  { id: 30, name: 'BF16', blockSize: 1, typeSize: 2, dtype: 'BF16' },
  { id: 34, name: 'TQ1_0', blockSize: 256, typeSize: 54 },
  { id: 35, name: 'TQ2_0', blockSize: 256, typeSize: 66 },
  { id: 39, name: 'MXFP4', blockSize: 32, typeSize: 17 },
];

const BY_ID = new Map(TABLE.map((t) => [t.id, t]));
const BY_NAME = new Map(TABLE.map((t) => [t.name, t]));

/** Every ggml type engram knows, by id. */
export const GGML_TYPES: readonly GgmlType[] = TABLE;

/** The ggml type with this id, or undefined when engram does not know it. */
export function ggmlTypeById(id: number): GgmlType | undefined {
  return BY_ID.get(id);
}

/** The ggml type with this name (`Q4_K`), or undefined. */
export function ggmlTypeByName(name: string): GgmlType | undefined {
  return BY_NAME.get(name);
}
