/** @module Public surface of store/: the ObjectStore interface, its backends, chunking and codecs. */
export type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';
export { MemoryStore } from './memory-store.ts';
export { FsStore, removeEmptyDirs, removeStaleTemps } from './fs-store.ts';
export { sha256Hex } from './hash.ts';
export { DEFAULT_CDC, GEAR, GEAR_SEED, fastcdcBoundaries } from './fastcdc.ts';
export type { CdcOptions } from './fastcdc.ts';
export { groupBytes, ungroupBytes } from './byte-group.ts';
export { zstdCompress, zstdDecompress, zstdFrameContentSize } from './zstd.ts';
export { MAX_CHUNK_BYTES, decodeChunk, encodeChunk, readChunkHeader } from './chunk-codec.ts';
export type { ChunkCodec, ChunkHeader, ChunkTransform, DecodeOptions, EncodeOptions } from './chunk-codec.ts';
export { CodecPool } from './codec-pool.ts';
export type { CodecReply, CodecRequest } from './codec-pool.ts';
