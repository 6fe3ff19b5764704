/** @module Public surface of formats/tfjs/: TF.js model.json and weight shards, read and written. */
export { readModelJson, readTfjsModel, MAX_TFJS_MODEL_JSON } from './read-tfjs-model.ts';
export type { ReadTfjsModelOptions, TfjsModelJson } from './read-tfjs-model.ts';
export { readTfjsShard, TFJS_MAX_MODEL_CANDIDATES } from './read-tfjs-shard.ts';
export type { ReadTfjsShardOptions } from './read-tfjs-shard.ts';
export type { TfjsQuantization } from './tfjs-manifest.ts';
export { planTfjsModel, streamTfjsModel, writeTfjsModel, TFJS_DEFAULT_SHARD_BYTES, TFJS_WRITABLE_DTYPES } from './write-tfjs-model.ts';
export type { TfjsJson, TfjsModelPlan, TfjsOutputFile, TfjsStreamedFile, TfjsTensorInput, WriteTfjsModelOptions } from './write-tfjs-model.ts';
export { writeModelDirectory } from './write-model-directory.ts';
export type { DirectoryFile, StreamedDirectoryFile } from './write-model-directory.ts';
export { tfjsFormat } from './tfjs-format.ts';
