/**
 * @module Public surface of codec/: how a chunk's bytes become an object and back — the content
 * hash, FastCDC boundaries, byte grouping, zstd and rANS, the delta transforms, the chunk format
 * and the worker pool that runs it off the main thread. Nothing here knows about stores or
 * repositories.
 */
export { sha256Hex } from './hash.ts';
export { DEFAULT_CDC, GEAR, GEAR_SEED, fastcdcBoundaries } from './fastcdc.ts';
export type { CdcOptions } from './fastcdc.ts';
export { groupBytes, ungroupBytes } from './byte-group.ts';
export { zstdCompress, zstdDecompress, zstdFrameContentSize } from './zstd.ts';
export { MAX_CHUNK_BYTES, decodeChunk, encodeChunk, readChunkHeader } from './chunk-codec.ts';
export type { ChunkCodec, ChunkHeader, ChunkTransform, DecodeOptions, EncodeOptions } from './chunk-codec.ts';
export { CodecPool } from './codec-pool.ts';
export { decodeChain } from './chain-decode.ts';
export type { ChainLink, DecodeChainOptions } from './chain-decode.ts';
export type { CodecReply, CodecRequest } from './codec-pool.ts';
