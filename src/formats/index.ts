/** @module Public surface of formats/: reading checkpoint files into exact layouts, and writers. */
export { bufferSource, openFileSource } from './byte-source.ts';
export type { ByteSource } from './byte-source.ts';
export type {
  FileSegment, FormatName, IngestedFile, IngestedTensor, LiteralSegment, SegmentEncoding, TensorSegment,
} from './ingested-file.ts';
export { readTensorFile } from './read-tensor-file.ts';
export { readSafetensors, MAX_SAFETENSORS_HEADER } from './read-safetensors.ts';
export { readNpy } from './read-npy.ts';
export { readNpz } from './read-npz.ts';
export { readOpaque } from './read-opaque.ts';
export { detectPytorch, readPytorch } from './read-pytorch.ts';
export { unpickle, unsafePickle, DEFAULT_UNPICKLE_LIMITS } from './pickle/unpickle.ts';
export type { UnpickleHooks, UnpickleLimits } from './pickle/unpickle.ts';
export { TORCH_ALLOWED_GLOBALS } from './pytorch/torch-pickle-hooks.ts';
export { readOnnx } from './onnx/read-onnx.ts';
export type { OnnxExternalRef, OnnxFile, ReadOnnxOptions } from './onnx/read-onnx.ts';
export { readOnnxExternalData, ONNX_MAX_OWNER_CANDIDATES } from './onnx/read-onnx-external-data.ts';
export { writeSafetensors } from './write-safetensors.ts';
export { readGguf, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_ARRAY_DEPTH, GGUF_MAX_DIMS } from './gguf/read-gguf.ts';
export type { GgufFile, GgufHeader, GgufTensorInfo } from './gguf/read-gguf.ts';
export { writeGguf } from './gguf/write-gguf.ts';
export type { GgufInput, GgufTensorInput } from './gguf/write-gguf.ts';
export { GGML_TYPES, ggmlTypeById, ggmlTypeByName } from './gguf/ggml-type.ts';
export type { GgmlType } from './gguf/ggml-type.ts';
export { GGUF_VALUE_TYPES } from './gguf/gguf-value.ts';
export type { GgufArray, GgufKv, GgufScalar, GgufValue, GgufValueType } from './gguf/gguf-value.ts';
export type { SafetensorsInput } from './write-safetensors.ts';
export { writeNpy } from './write-npy.ts';
export { writeNpz } from './write-npz.ts';
export { canHold, checkWritable, writeTensorFile, WRITABLE_FORMATS } from './write-tensor-file.ts';
export type { TensorFileInput, WritableFormat } from './write-tensor-file.ts';
export { rebuildFile } from './rebuild-file.ts';
