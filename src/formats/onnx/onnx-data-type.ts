/** @module ONNX `TensorProto.DataType` codes and the engram dtype each becomes. */
import type { DenseDType } from '../../tensor/index.ts';

/** Which typed repeated field of TensorProto holds a data type's values when raw_data is absent. */
export type OnnxTypedField = 'float_data' | 'int32_data' | 'int64_data' | 'double_data' | 'uint64_data';

/** An ONNX data type engram models. */
export interface OnnxDataType {
  readonly name: string;
  readonly dtype: DenseDType;
  readonly field: OnnxTypedField;
}

/**
 * Supported codes. STRING (8), COMPLEX64/128 (14, 15), the FNUZ float8s (18, 20), 4-bit and newer
 * types have no engram dtype, so a file holding them is "unsupported" and kept opaque.
 */
const TYPES: Readonly<Record<number, OnnxDataType>> = {
  1: { name: 'FLOAT', dtype: 'F32', field: 'float_data' },
  2: { name: 'UINT8', dtype: 'U8', field: 'int32_data' },
  3: { name: 'INT8', dtype: 'I8', field: 'int32_data' },
  4: { name: 'UINT16', dtype: 'U16', field: 'int32_data' },
  5: { name: 'INT16', dtype: 'I16', field: 'int32_data' },
  6: { name: 'INT32', dtype: 'I32', field: 'int32_data' },
  7: { name: 'INT64', dtype: 'I64', field: 'int64_data' },
  9: { name: 'BOOL', dtype: 'BOOL', field: 'int32_data' },
  10: { name: 'FLOAT16', dtype: 'F16', field: 'int32_data' },
  11: { name: 'DOUBLE', dtype: 'F64', field: 'double_data' },
  12: { name: 'UINT32', dtype: 'U32', field: 'uint64_data' },
  13: { name: 'UINT64', dtype: 'U64', field: 'uint64_data' },
  16: { name: 'BFLOAT16', dtype: 'BF16', field: 'int32_data' },
  17: { name: 'FLOAT8E4M3FN', dtype: 'F8_E4M3', field: 'int32_data' },
  19: { name: 'FLOAT8E5M2', dtype: 'F8_E5M2', field: 'int32_data' },
};

/** The engram mapping of an ONNX data type code, or undefined when engram has no such dtype. */
export function onnxDataType(code: number): OnnxDataType | undefined {
  return Object.hasOwn(TYPES, code) ? TYPES[code] : undefined;
}
