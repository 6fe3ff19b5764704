/**
 * @module The chunk side of one rank's save: cut each local shard (and each replicated item) into
 * chunks exactly as `Repository.save` cuts a tensor — fixed-size chunks, small items bundled — through
 * repo/'s WriteSession, the one every save writes through. Chunks are keyed by content, so identical
 * bytes on several ranks (replicated tensors, equal shards) are stored once whichever rank gets there first.
 */
import { EngramError } from '../errors/index.ts';
import { WriteSession, type BlobEntry, type ChunkRef, type Repository, type ShardEntry, type SnapshotManifest, type TensorEntry } from '../repo/index.ts';
import { sha256Hex } from '../codec/index.ts';
import { byteLengthOf, type DType, type Shape } from '../tensor/index.ts';
import type { RankPart, ReplicatedPartEntry } from './rank-part.ts';
import type { SaveShardedOptions } from './sharded-input.ts';

/** What a rank's chunk writing produced: its part (not yet written) and the bytes it stored. */
export interface RankChunks {
  readonly part: RankPart;
  readonly storedBytes: number;
}

/**
 * Stores every chunk of this rank's items and returns the part that describes them. With `parent`
 * (read from the store after the save intent was taken, so its chunks are protected, gc.ts), chunk
 * i of a shard is stored as a delta against chunk i of the parent's shard with the same tensor,
 * offsets and shape (`WriteSession.shardBases`), so a job that checkpoints with an unchanged layout
 * gets the same delta chains as a single-process run. Chunks known to exist are only the parent's;
 * anything else is checked with head().
 */
export async function writeRankChunks(repo: Pick<Repository, 'store' | 'config' | 'codecs'>, saveId: string, options: SaveShardedOptions, parent?: SnapshotManifest, concurrency = 8): Promise<RankChunks> {
  const session = new WriteSession({ store: repo.store, config: repo.config, codecs: repo.codecs, concurrency, ...(parent ? { parent } : {}) });

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
      await session.writeTensor(bytes, t.dtype, (r) => void (entry.chunks = r), session.shardBases(name, t.dtype, s.offsets, s.shape));
    }
  }

  const replicated: Record<string, ReplicatedPartEntry<TensorEntry>> = {};
  for (const [name, t] of Object.entries(options.replicated ?? {})) {
    if (Object.hasOwn(tensors, name)) throw new EngramError('InvalidArgument', `tensor ${name} is given both sharded and replicated`, { tensor: name });
    const bytes = await bytesOf(`tensor ${name}`, t.dtype, t.shape, t);
    const entry = { dtype: t.dtype, shape: [...t.shape], byteLength: bytes.byteLength, chunks: [] as ChunkRef[] };
    replicated[name] = { entry, sha256: sha256Hex(bytes) };
    await session.writeTensor(bytes, t.dtype, (r) => void (entry.chunks = r), session.shardBases(name, t.dtype, t.shape.map(() => 0), t.shape));
  }

  const blobs: Record<string, ReplicatedPartEntry<BlobEntry>> = {};
  for (const [name, bytes] of Object.entries(options.blobs ?? {})) {
    const entry = { byteLength: bytes.byteLength, chunks: [] as ChunkRef[] };
    blobs[name] = { entry, sha256: sha256Hex(bytes) };
    await session.writeBlob(bytes, (r) => void (entry.chunks = r));
  }

  const { chunks, storedBytes } = await session.finish();
  const part: RankPart = {
    format: 'engram.rank-part', version: 1, saveId, run: options.run, step: options.step, rank: options.rank, worldSize: options.worldSize,
    tensors, replicated, blobs, chunks,
  };
  return { part, storedBytes };
}

