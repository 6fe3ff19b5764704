/**
 * @module zstdBaseline: plain zstd at level 3 over the raw bytes, one call per 4 MiB block, two
 * blocks in flight (the machine has two cores), through the same binding engram uses — what
 * compression alone gives without byte-grouping, deltas or deduplication.
 */
import { zstdCompress, zstdDecompress } from '../../src/codec/zstd.ts';
import { coveredRanges, type TensorSet } from '../tensor-set.ts';

const BLOCK = 4 * 1024 * 1024;
const CONCURRENCY = 2;

async function inFlight<T>(count: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
  return out;
}

/** Result of compressing and decompressing `bytes` block by block. */
export interface ZstdBaseline {
  readonly rawBytes: number;
  readonly compressedBytes: number;
  /** compressed / raw. */
  readonly ratio: number;
  readonly compressBytesPerSecond: number;
  readonly decompressBytesPerSecond: number;
}

/**
 * zstd -3 of the tensors' bytes (as one stream, alignment padding included) in 4 MiB blocks;
 * `decompress` also times the way back.
 */
export async function zstdBaseline(set: TensorSet, options: { decompress?: boolean; level?: number } = {}): Promise<ZstdBaseline> {
  const level = options.level ?? 3;
  const blocks: Uint8Array[] = [];
  for (const r of coveredRanges(set)) for (let at = 0; at < r.byteLength; at += BLOCK) blocks.push(r.subarray(at, Math.min(r.byteLength, at + BLOCK)));
  const raw = blocks.reduce((n, b) => n + b.byteLength, 0);
  const t0 = performance.now();
  const frames = await inFlight(blocks.length, (i) => zstdCompress(blocks[i]!, level));
  const cs = (performance.now() - t0) / 1000;
  const compressed = frames.reduce((n, f) => n + f.byteLength, 0);
  let ds = NaN;
  if (options.decompress) {
    const t1 = performance.now();
    await inFlight(blocks.length, (i) => zstdDecompress(frames[i]!));
    ds = (performance.now() - t1) / 1000;
  }
  return {
    rawBytes: raw,
    compressedBytes: compressed,
    ratio: compressed / raw,
    compressBytesPerSecond: raw / cs,
    decompressBytesPerSecond: raw / ds,
  };
}
