/**
 * @module Reading a box (a region) of a tensor, whole or sharded, touching only the chunks the box
 * overlaps. This is what load-time resharding rests on (distributed/): a rank of a different world
 * size asks for its target box, and for each stored shard the overlap is copied in contiguous runs
 * straight from the chunks that hold it. Every chunk read is re-hashed by the ChunkReader, so a run
 * copied out of a chunk is as verified as a whole-tensor read.
 */
import { EngramError } from '../errors/index.ts';
import { byteLengthOf, dtypeSize, numel, type Shape } from '../tensor/index.ts';
import type { ChunkReader } from './chunk-reader.ts';
import { boxText, type ShardEntry, type TensorEntry } from './manifest.ts';
import { eachConcurrently } from './each-concurrently.ts';

/** A box of a tensor: start offsets and extent per dimension. */
export interface Box {
  readonly offsets: readonly number[];
  readonly shape: Shape;
}

/** The shards of a tensor entry; a whole tensor is one shard at the origin. */
export function shardsOf(entry: TensorEntry): readonly ShardEntry[] {
  if (entry.shards) return entry.shards;
  return [{ offsets: entry.shape.map(() => 0), shape: entry.shape, byteLength: entry.byteLength, chunks: entry.chunks }];
}

/** The common part of two boxes of the same rank, or undefined when they share no element. */
export function intersectBoxes(a: Box, b: Box): Box | undefined {
  const offsets: number[] = [];
  const shape: number[] = [];
  for (let d = 0; d < a.offsets.length; d++) {
    const lo = Math.max(a.offsets[d]!, b.offsets[d]!);
    const hi = Math.min(a.offsets[d]! + a.shape[d]!, b.offsets[d]! + b.shape[d]!);
    if (hi <= lo) return undefined;
    offsets.push(lo);
    shape.push(hi - lo);
  }
  return { offsets, shape };
}

/**
 * The contiguous byte runs that copy box `part` (inside both `src` and `dst`) from a C-order buffer
 * laid out as `src` into one laid out as `dst`. Trailing dimensions that `part` spans completely in
 * both layouts merge into one run, so a row-sharded copy is a single run per shard and a
 * column-sharded one a run per row. Source starts ascend.
 */
export function copyRuns(src: Box, dst: Box, part: Box, elementSize: number): { readonly src: Float64Array; readonly dst: Float64Array; readonly length: number } {
  const n = part.shape.length;
  if (n === 0) return { src: Float64Array.of(0), dst: Float64Array.of(0), length: elementSize };
  let k = n - 1;
  while (k > 0 && part.shape[k] === src.shape[k] && part.shape[k] === dst.shape[k]) k--;
  const srcStride = strides(src.shape);
  const dstStride = strides(dst.shape);
  const length = part.shape[k]! * srcStride[k]! * elementSize;
  const count = numel(part.shape.slice(0, k));
  const srcStarts = new Float64Array(count);
  const dstStarts = new Float64Array(count);
  const idx = new Array<number>(k).fill(0);
  for (let r = 0; r < count; r++) {
    let s = 0;
    let t = 0;
    for (let d = 0; d < n; d++) {
      const g = part.offsets[d]! + (d < k ? idx[d]! : 0);
      s += (g - src.offsets[d]!) * srcStride[d]!;
      t += (g - dst.offsets[d]!) * dstStride[d]!;
    }
    srcStarts[r] = s * elementSize;
    dstStarts[r] = t * elementSize;
    for (let d = k - 1; d >= 0; d--) {
      if (++idx[d]! < part.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return { src: srcStarts, dst: dstStarts, length };
}

function strides(shape: Shape): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = s;
    s *= shape[d]!;
  }
  return out;
}

/** Throws `InvalidArgument` unless `box` lies inside `shape`. */
export function checkBox(name: string, shape: Shape, box: Box): void {
  const ok = box.offsets.length === shape.length && box.shape.length === shape.length
    && box.offsets.every((o, d) => Number.isSafeInteger(o) && o >= 0 && Number.isSafeInteger(box.shape[d]) && box.shape[d]! >= 0 && o + box.shape[d]! <= shape[d]!);
  if (!ok) {
    throw new EngramError('InvalidArgument', `region [${boxText(box)}] is not inside tensor ${name} of shape [${shape.join(', ')}]`, { tensor: name, offsets: box.offsets, shape: box.shape });
  }
}

/**
 * Reads box `region` of tensor `name` (C order of the region's own shape) into `into` or a new
 * buffer. For every stored shard the box overlaps, only the chunks that hold a byte of the overlap
 * are fetched (each whole, as chunks are verified whole), up to `concurrency` at once.
 */
export async function readTensorRegion(
  reader: ChunkReader,
  name: string,
  entry: TensorEntry,
  region: Box,
  options: { into?: Uint8Array; concurrency?: number } = {},
): Promise<Uint8Array> {
  checkBox(name, entry.shape, region);
  const byteLength = byteLengthOf(entry.dtype, region.shape);
  const out = options.into ?? new Uint8Array(byteLength);
  if (out.byteLength !== byteLength) {
    throw new EngramError('InvalidArgument', `tensor ${name}: target buffer has ${out.byteLength} bytes, the region needs ${byteLength}`, { tensor: name });
  }
  if (byteLength === 0) return out;
  const item = `tensor ${name}`;
  // The whole of an unsharded tensor: the plain concatenation of its chunks.
  if (!entry.shards && region.offsets.every((o, d) => o === 0 && region.shape[d] === entry.shape[d])) {
    return reader.read(entry.chunks, entry.byteLength, item, out, options.concurrency);
  }
  const width = dtypeSize(entry.dtype);
  /** One chunk range to fetch and the runs (of one shard) it holds bytes of. */
  const tasks: { ref: ShardEntry['chunks'][number]; start: number; runs: ReturnType<typeof copyRuns>; first: number; last: number }[] = [];
  for (const shard of shardsOf(entry)) {
    const part = intersectBoxes(shard, region);
    if (!part) continue;
    const runs = copyRuns(shard, region, part, width);
    // Two pointers: runs and chunk refs both ascend in the shard's byte order.
    let r = 0;
    let pos = 0;
    for (const ref of shard.chunks) {
      const end = pos + ref.length;
      while (r < runs.src.length && runs.src[r]! + runs.length <= pos) r++;
      if (r < runs.src.length && runs.src[r]! < end) {
        let last = r;
        while (last + 1 < runs.src.length && runs.src[last + 1]! < end) last++;
        tasks.push({ ref, start: pos, runs, first: r, last });
      }
      pos = end;
    }
  }
  // One fetch per chunk, however many shards share it (small shards share bundles).
  const byHash = new Map<string, typeof tasks>();
  for (const t of tasks) {
    const group = byHash.get(t.ref.hash);
    if (group) group.push(t);
    else byHash.set(t.ref.hash, [t]);
  }
  const groups = [...byHash.values()];
  await eachConcurrently(groups, options.concurrency ?? 4, async (group) => {
    const raw = await reader.chunk(group[0]!.ref.hash, item);
    for (const t of group) {
      const end = t.start + t.ref.length;
      for (let i = t.first; i <= t.last; i++) {
        const lo = Math.max(t.runs.src[i]!, t.start);
        const hi = Math.min(t.runs.src[i]! + t.runs.length, end);
        out.set(raw.subarray(t.ref.offset + lo - t.start, t.ref.offset + hi - t.start), t.runs.dst[i]! + lo - t.runs.src[i]!);
      }
    }
  });
  return out;
}
