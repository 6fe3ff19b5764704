/** @module Public surface of formats/gguf/. */
export { readGguf, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_ARRAY_DEPTH, GGUF_MAX_DIMS } from './read-gguf.ts';
export type { GgufFile, GgufHeader, GgufTensorInfo } from './read-gguf.ts';
export { ggufSteps, writeGguf } from './write-gguf.ts';
export type { GgufInput, GgufTensorInput, GgufTensorMeta } from './write-gguf.ts';
export { GGML_TYPES, ggmlTypeById, ggmlTypeByName } from './ggml-type.ts';
export type { GgmlType } from './ggml-type.ts';
export { GGUF_VALUE_TYPES } from './gguf-value.ts';
export type { GgufArray, GgufKv, GgufScalar, GgufValue, GgufValueType } from './gguf-value.ts';
export { ggufFormat } from './gguf-format.ts';
