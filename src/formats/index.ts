/** @module Public surface of formats/: reading checkpoint files into exact layouts, and writers. */
export { bufferSource, openFileSource } from './byte-source.ts';
export type { ByteSource } from './byte-source.ts';
export type {
  FileSegment, FormatName, IngestedFile, IngestedTensor, LiteralSegment, SegmentEncoding, TensorSegment, WithheldTensor,
} from './ingested-file.ts';
export { readTensorFile } from './read-tensor-file.ts';
export type { ReadTensorFileOptions } from './read-tensor-file.ts';
export { decodeFileTensor } from './decode-file-tensor.ts';
export { readOpaque } from './read-opaque.ts';
export { detectTensorFormat, formatByName, tensorFormats } from './format-registry.ts';
export type { RegisteredFormat } from './format-registry.ts';
export type {
  Detection, DirectoryFile, FileProbe, FormatDetector, FormatOutput, FormatReader, StreamedDirectoryFile, TensorFormat, TensorFormatWriter, WithMetadata, WritableFormat,
} from './tensor-format.ts';
export {
  canHold, checkWritable, isDirectoryFormat, streamTensorDirectory, streamTensorFile, writeTensorDirectory, writeTensorFile, writeTensorFileAsync, WRITABLE_FORMATS,
} from './write-tensor-file.ts';
export type { StreamTensorFileOptions, TensorFileInput } from './write-tensor-file.ts';
export { collectSteps, streamSteps } from './write-steps.ts';
export type { LazyTensorInput, TensorMeta, WriteSteps } from './write-steps.ts';
export { rebuildFile } from './rebuild-file.ts';
export { unpickle, unsafePickle, DEFAULT_UNPICKLE_LIMITS } from './pickle/index.ts';
export type { UnpickleHooks, UnpickleLimits } from './pickle/index.ts';
export { readSafetensors, writeSafetensors, MAX_SAFETENSORS_HEADER } from './safetensors/index.ts';
export type { SafetensorsInput } from './safetensors/index.ts';
export { readNpy, readNpz, writeNpy, writeNpz } from './numpy/index.ts';
export {
  detectPytorch, nestedTorchObject, pytorchFilePieces, readPytorch, writePytorch, TORCH_ALLOWED_GLOBALS, TORCH_STORAGE_CLASSES,
} from './pytorch/index.ts';
export type { TorchObject, WritePytorchOptions } from './pytorch/index.ts';
export {
  ONNX_MAX_OWNER_CANDIDATES, ONNX_MAX_PROTO_BYTES, planOnnxFromTensors, planOnnxWrite, readOnnx, readOnnxExternalData, writeOnnx,
} from './onnx/index.ts';
export type { OnnxCandidate, OnnxExternalRef, OnnxFile, OnnxTensorInput, OnnxWritePlan, ReadOnnxOptions, WriteOnnxOptions } from './onnx/index.ts';
export {
  readGguf, writeGguf, GGML_TYPES, ggmlTypeById, ggmlTypeByName, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_ARRAY_DEPTH, GGUF_MAX_DIMS, GGUF_VALUE_TYPES,
} from './gguf/index.ts';
export type {
  GgmlType, GgufArray, GgufFile, GgufHeader, GgufInput, GgufKv, GgufScalar, GgufTensorInfo, GgufTensorInput, GgufValue, GgufValueType,
} from './gguf/index.ts';
export {
  planTfjsModel, readTfjsModel, readTfjsShard, streamTfjsModel, writeModelDirectory, writeTfjsModel,
  MAX_TFJS_MODEL_JSON, TFJS_DEFAULT_SHARD_BYTES, TFJS_MAX_MODEL_CANDIDATES, TFJS_WRITABLE_DTYPES,
} from './tfjs/index.ts';
export type {
  ReadTfjsModelOptions, ReadTfjsShardOptions, TfjsJson, TfjsModelPlan, TfjsOutputFile, TfjsQuantization, TfjsStreamedFile, TfjsTensorInput, WriteTfjsModelOptions,
} from './tfjs/index.ts';
export { readHdf5, writeHdf5, HDF5_MAGIC, HDF5_MAX_EXPANSION, HDF5_MAX_FILE_BYTES } from './hdf5/index.ts';
export type { Hdf5TensorInput, ReadHdf5Options, WriteHdf5Options } from './hdf5/index.ts';
