/**
 * @module The committer's merge: every rank's part becomes one snapshot's tensors, blobs and chunk
 * map. Shards of one tensor are gathered from all ranks and must tile its global shape exactly;
 * replicated items given by several ranks must have the same bytes. Anything else is refused with
 * `InvalidArgument` before any manifest is written.
 */
import { EngramError } from '../errors/index.ts';
import { shardLayoutProblem, type BlobEntry, type ChunkInfo, type ShardEntry, type TensorEntry } from '../repo/index.ts';
import { byteLengthOf } from '../tensor/index.ts';
import type { RankPart } from './rank-part.ts';

/** The merged content of a distributed save. */
export interface MergedParts {
  readonly tensors: Record<string, TensorEntry>;
  readonly blobs: Record<string, BlobEntry>;
  readonly chunks: Record<string, ChunkInfo>;
}

/** Merges parts (in rank order) of save `saveId`; `expect` is what every part must agree on. */
export function mergeParts(saveId: string, parts: readonly RankPart[], expect: { run: string; step: number; worldSize: number }): MergedParts {
  const refuse = (message: string, data: Record<string, unknown> = {}): EngramError =>
    new EngramError('InvalidArgument', `distributed save ${saveId}: ${message}; nothing was committed`, { save: saveId, ...data });
  const sharded = new Map<string, { dtype: TensorEntry['dtype']; shape: TensorEntry['shape']; shards: { rank: number; shard: ShardEntry }[] }>();
  const tensors: Record<string, TensorEntry> = {};
  const replicaHash = new Map<string, string>();
  const blobs: Record<string, BlobEntry> = {};
  const chunks = new Map<string, ChunkInfo>();
  for (const p of parts) {
    if (p.saveId !== saveId || p.run !== expect.run || p.step !== expect.step || p.worldSize !== expect.worldSize) {
      throw refuse(`rank ${p.rank}'s part is for ${p.run}@${p.step} with world size ${p.worldSize}, not ${expect.run}@${expect.step} with ${expect.worldSize}`, { rank: p.rank });
    }
    for (const [name, t] of Object.entries(p.tensors)) {
      const g = sharded.get(name) ?? { dtype: t.dtype, shape: t.shape, shards: [] };
      if (g.dtype !== t.dtype || g.shape.length !== t.shape.length || g.shape.some((d, i) => d !== t.shape[i])) {
        throw refuse(`ranks disagree on tensor ${name}: ${g.dtype}[${g.shape.join(', ')}] and rank ${p.rank}'s ${t.dtype}[${t.shape.join(', ')}]`, { tensor: name });
      }
      for (const shard of t.shards) g.shards.push({ rank: p.rank, shard });
      sharded.set(name, g);
    }
    for (const [name, r] of Object.entries(p.replicated)) {
      const seen = replicaHash.get(name);
      if (seen !== undefined && seen !== r.sha256) throw refuse(`replicated tensor ${name} differs between ranks (rank ${p.rank} has other bytes)`, { tensor: name, rank: p.rank });
      if (seen === undefined) {
        replicaHash.set(name, r.sha256);
        tensors[name] = r.entry; // the lowest rank's copy; the others' chunks are the same objects
      }
    }
    for (const [name, b] of Object.entries(p.blobs)) {
      const key = `blob:${name}`;
      const seen = replicaHash.get(key);
      if (seen !== undefined && seen !== b.sha256) throw refuse(`blob ${name} differs between ranks (rank ${p.rank} has other bytes)`, { blob: name, rank: p.rank });
      if (seen === undefined) {
        replicaHash.set(key, b.sha256);
        blobs[name] = b.entry;
      }
    }
    for (const [hash, info] of Object.entries(p.chunks)) {
      // One rank may have found an existing object (and learned its delta base) where another wrote it.
      if (!chunks.has(hash) || (info.base && !chunks.get(hash)!.base)) chunks.set(hash, info);
    }
  }
  for (const [name, g] of sharded) {
    if (Object.hasOwn(tensors, name)) throw refuse(`tensor ${name} is sharded on some ranks and replicated on others`, { tensor: name });
    // Shards in row-major order of their offsets: deterministic whatever the ranks' order.
    const shards = g.shards.map((s) => s.shard).sort((a, b) => compareOffsets(a.offsets, b.offsets));
    const full: TensorEntry = { dtype: g.dtype, shape: g.shape, byteLength: byteLengthOf(g.dtype, g.shape), chunks: [], shards };
    const why = shardLayoutProblem(full);
    if (why !== undefined) throw refuse(`tensor ${name}: ${why}`, { tensor: name });
    tensors[name] = full;
  }
  const names = Object.keys(tensors).sort();
  return {
    tensors: Object.fromEntries(names.map((n) => [n, tensors[n]!])),
    blobs,
    chunks: Object.fromEntries([...chunks].sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}

function compareOffsets(a: readonly number[], b: readonly number[]): number {
  for (let d = 0; d < a.length; d++) if (a[d] !== b[d]) return a[d]! - b[d]!;
  return 0;
}
