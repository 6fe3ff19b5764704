/**
 * @module The chunk side of one rank's save: cut each local shard (and each replicated item) into
 * chunks exactly as `Repository.save` cuts a tensor — fixed-size chunks, small items bundled — and
 * store them through the repository's ChunkWriter. Chunks are keyed by content, so identical bytes on
 * several ranks (replicated tensors, equal shards) are stored once whichever rank gets there first.
 */
import { EngramError } from '../errors/index.ts';
// The repository's own chunking pieces, so a rank's chunks are cut and encoded exactly as a
// Repository.save would (and dedup against it); they are internal to repo/, not its public surface.
import { Bundler } from '../repo/bundler.ts';
import { chunkItems } from '../repo/chunk-item.ts';
import { ChunkWriter, type DeltaBase } from '../repo/chunk-writer.ts';
import { maxDeltaDepth } from '../repo/config.ts';
import { shardsOf, type BlobEntry, type ChunkInfo, type ChunkRef, type RepoConfig, type ShardEntry, type SnapshotManifest, type TensorEntry } from '../repo/index.ts';
import { type ObjectStore } from '../store/index.ts';
import { sha256Hex } from '../codec/index.ts';
import { byteLengthOf, dtypeSize, type DType, type Shape } from '../tensor/index.ts';
import type { RankPart, ReplicatedPartEntry } from './rank-part.ts';
import type { SaveShardedOptions } from './sharded-input.ts';

/** What a rank's chunk writing produced: its part (not yet written) and the bytes it stored. */
export interface RankChunks {
  readonly part: RankPart;
  readonly storedBytes: number;
}

/** The snapshot a rank's chunks may be deltas against, and how to read its chunks. */
export interface DeltaParent {
  /** Read from the store after the save intent was taken, so its chunks are protected (gc.ts). */
  readonly manifest: SnapshotManifest;
  readonly readChunk: (hash: string, item: string) => Promise<Uint8Array>;
}

/**
 * Stores every chunk of this rank's items and returns the part that describes them. With `parent`,
 * chunk i of a shard is stored as a delta against chunk i of the parent's shard with the same
 * tensor, offsets and shape (the same rule `Repository.save` applies to whole tensors), so a job
 * that checkpoints with an unchanged layout gets the same delta chains as a single-process run.
 */
export async function writeRankChunks(store: ObjectStore, config: RepoConfig, saveId: string, options: SaveShardedOptions, parent?: DeltaParent, concurrency = 8): Promise<RankChunks> {
  // Known chunks: only the parent's, read after the intent; anything else is checked with head().
  const known = new Map<string, ChunkInfo>(Object.entries(parent?.manifest.chunks ?? {}));
  const writer = new ChunkWriter(store, { level: config.codec.level, concurrency, known, maxDepth: maxDeltaDepth(config) });
  const bundler = new Bundler(config.bundleSize, (raw, width) => writer.add(raw, width));

  const chunkItem = chunkItems(config, writer, bundler);

  /** Chunk i of a shard may be a delta against chunk i of the parent's shard at the same box. */
  const deltaBases = (name: string, dtype: DType, offsets: readonly number[], shape: Shape): ((i: number, length: number) => DeltaBase | undefined) | undefined => {
    const p = parent?.manifest;
    const prev = p?.tensors[name];
    if (!p || !prev || prev.dtype !== dtype) return undefined;
    const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, d) => v === b[d]);
    const match = shardsOf(prev).find((s) => same(s.offsets, offsets) && same(s.shape, shape));
    if (!match) return undefined;
    return (i, length) => {
      const ref = match.chunks[i];
      const info = ref ? p.chunks[ref.hash] : undefined;
      // Only a whole chunk lines up element for element; a range of a bundle does not.
      if (!ref || !info || ref.offset !== 0 || ref.length !== length || info.size !== length) return undefined;
      return { hash: ref.hash, depth: info.depth ?? 0, load: () => parent!.readChunk(ref.hash, `tensor ${name}`) };
    };
  };

  const bytesOf = async (what: string, dtype: DType, shape: Shape, input: { data?: Uint8Array; load?: () => Promise<Uint8Array> }): Promise<Uint8Array> => {
    const bytes = input.data ?? (await input.load?.());
    if (!bytes) throw new EngramError('InvalidArgument', `${what} has neither data nor load()`, {});
    const want = byteLengthOf(dtype, shape);
    if (bytes.byteLength !== want) throw new EngramError('InvalidArgument', `${what}: ${dtype}[${shape.join(', ')}] needs ${want} bytes, got ${bytes.byteLength}`, {});
    return bytes;
  };

  const tensors: Record<string, { dtype: DType; shape: Shape; shards: ShardEntry[] }> = {};
  for (const [name, t] of Object.entries(options.tensors ?? {})) {
    const shards: ShardEntry[] = [];
    tensors[name] = { dtype: t.dtype, shape: [...t.globalShape], shards };
    for (const [i, s] of t.shards.entries()) {
      if (s.offsets.length !== t.globalShape.length || s.shape.length !== t.globalShape.length
        || s.offsets.some((o, d) => !Number.isSafeInteger(o) || o < 0 || !Number.isSafeInteger(s.shape[d]) || s.shape[d]! < 0 || o + s.shape[d]! > t.globalShape[d]!)) {
        throw new EngramError('InvalidArgument', `tensor ${name} shard ${i}: offsets [${s.offsets.join(', ')}] and shape [${s.shape.join(', ')}] do not lie inside [${t.globalShape.join(', ')}]`, { tensor: name });
      }
      const bytes = await bytesOf(`tensor ${name} shard ${i}`, t.dtype, s.shape, s);
      const entry = { offsets: [...s.offsets], shape: [...s.shape], byteLength: bytes.byteLength, chunks: [] as ChunkRef[] };
      shards.push(entry);
      await chunkItem(bytes, dtypeSize(t.dtype), true, (r) => void (entry.chunks = r), deltaBases(name, t.dtype, s.offsets, s.shape));
    }
  }

  const replicated: Record<string, ReplicatedPartEntry<TensorEntry>> = {};
  for (const [name, t] of Object.entries(options.replicated ?? {})) {
    if (Object.hasOwn(tensors, name)) throw new EngramError('InvalidArgument', `tensor ${name} is given both sharded and replicated`, { tensor: name });
    const bytes = await bytesOf(`tensor ${name}`, t.dtype, t.shape, t);
    const entry = { dtype: t.dtype, shape: [...t.shape], byteLength: bytes.byteLength, chunks: [] as ChunkRef[] };
    replicated[name] = { entry, sha256: sha256Hex(bytes) };
    await chunkItem(bytes, dtypeSize(t.dtype), true, (r) => void (entry.chunks = r), deltaBases(name, t.dtype, t.shape.map(() => 0), t.shape));
  }

  const blobs: Record<string, ReplicatedPartEntry<BlobEntry>> = {};
  for (const [name, bytes] of Object.entries(options.blobs ?? {})) {
    const entry = { byteLength: bytes.byteLength, chunks: [] as ChunkRef[] };
    blobs[name] = { entry, sha256: sha256Hex(bytes) };
    await chunkItem(bytes, 1, false, (r) => void (entry.chunks = r));
  }

  await bundler.flush();
  await writer.flush();
  const part: RankPart = {
    format: 'engram.rank-part', version: 1, saveId, run: options.run, step: options.step, rank: options.rank, worldSize: options.worldSize,
    tensors, replicated, blobs, chunks: Object.fromEntries([...writer.chunks].sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  return { part, storedBytes: writer.storedBytes };
}

