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
export { writeSafetensors } from './write-safetensors.ts';
export type { SafetensorsInput } from './write-safetensors.ts';
export { writeNpy } from './write-npy.ts';
export { writeNpz } from './write-npz.ts';
export { rebuildFile } from './rebuild-file.ts';
