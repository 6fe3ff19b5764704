/**
 * @module Public surface of ops/: the use cases the CLI (and the coming server) call — ingest files
 * into a snapshot, restore one to a directory or a sink, export it or convert a file to a format.
 * ops/ never prints and never exits: progress is an `onProgress` callback, failures are
 * `EngramError`s, and the caller opens (and closes) the repository.
 */
export type { ByteProgress, FileProgress, OnProgress, OpsProgress } from './ops-progress.ts';
export { collectFiles } from './collect-files.ts';
export type { CollectedFile } from './collect-files.ts';
export { buildFileInput } from './build-file-input.ts';
export { ingestDirectory, ingestFiles } from './ingest-files.ts';
export type { IngestOptions, IngestResult } from './ingest-files.ts';
export { looseTensorNames } from './loose-tensor-names.ts';
export { directorySink } from './restore-sink.ts';
export type { RestoreSink } from './restore-sink.ts';
export { LOOSE_TENSORS_PATH, restoreSnapshot, restoreSnapshotToDirectory } from './restore-snapshot.ts';
export type { RestoreOptions, RestoreResult, RestoreToDirectoryOptions } from './restore-snapshot.ts';
export { replaceDirectory } from './replace-directory.ts';
export { EXPORT_CHUNK_CACHE_BYTES, exportSnapshot } from './export-snapshot.ts';
export type { ExportOptions, WriteResult } from './export-snapshot.ts';
export { exportSnapshotToOnnx } from './export-snapshot-to-onnx.ts';
export type { ExportOnnxOptions, OnnxOutputOptions } from './export-snapshot-to-onnx.ts';
export { convertFile, convertFileToOnnx } from './convert-file.ts';
export type { ConvertOptions, ConvertResult } from './convert-file.ts';
export { extractTensor } from './extract-tensor.ts';
export type { ExtractResult } from './extract-tensor.ts';
export { writeTensorOutput } from './write-tensor-output.ts';
