/** @module Public surface of tensor/: dtypes, shapes, Tensor views and conversions. */
export { DENSE_DTYPES, dtypeSize, isDType, isFloatDType, parseDType } from './dtype.ts';
export type { DType, DenseDType, OpaqueDType } from './dtype.ts';
export { byteLengthOf, numel } from './shape.ts';
export type { Shape } from './shape.ts';
export { Tensor, toFloat32 } from './tensor.ts';
export { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, floatToHalf, halfToFloat } from './half.ts';
export { byteswap, reorderFortran } from './reorder.ts';
export { decodeSegmentBytes, encodeSegmentBytes, isIdentityEncoding } from './file-segment.ts';
export type { FileSegment, LiteralSegment, SegmentEncoding, TensorSegment } from './file-segment.ts';
export type { LazyNamedTensor, NamedTensor, TensorData } from './named-tensor.ts';
export type { JsonValue } from './json-value.ts';
