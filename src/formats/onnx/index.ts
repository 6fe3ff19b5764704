/** @module Public surface of formats/onnx/: reading models and their external data, writing into a template. */
export { readOnnx } from './read-onnx.ts';
export type { OnnxExternalRef, OnnxFile, ReadOnnxOptions } from './read-onnx.ts';
export { readOnnxExternalData, ONNX_MAX_OWNER_CANDIDATES } from './read-onnx-external-data.ts';
export { ONNX_MAX_PROTO_BYTES, planOnnxWrite, writeOnnx } from './write-onnx.ts';
export type { OnnxTensorInput, OnnxWritePlan, WriteOnnxOptions } from './write-onnx.ts';
export { planOnnxFromTensors } from './write-onnx-tensors.ts';
export type { OnnxCandidate } from './write-onnx-tensors.ts';
export { onnxFormat } from './onnx-format.ts';
