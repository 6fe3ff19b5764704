/**
 * @module A rank's part of a distributed save: `staging/<save-id>/rank-<k>.json`, written once its
 * chunks are durable. It lists the rank's shards and replicated items with their chunk refs, like a
 * manifest fragment, and carries a SHA-256 of its body so the committer never merges a torn part.
 * While it sits in staging/ it also keeps GC from deleting chunks (coordination.ts counts any staged
 * object's mtime as a sign of life of its save).
 */
import { EngramError } from '../errors/index.ts';
import { decodeChecksummed, encodeChecksummed, type BlobEntry, type ChunkInfo, type ShardEntry, type TensorEntry } from '../repo/index.ts';
import type { DType, Shape } from '../tensor/index.ts';

/** A replicated item as a part records it: its entry plus the SHA-256 of its bytes for the cross-rank check. */
export interface ReplicatedPartEntry<E> {
  readonly entry: E;
  readonly sha256: string;
}

/** The body of a rank part. */
export interface RankPart {
  readonly format: 'engram.rank-part';
  readonly version: 1;
  readonly saveId: string;
  readonly run: string;
  readonly step: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly tensors: Readonly<Record<string, { readonly dtype: DType; readonly shape: Shape; readonly shards: readonly ShardEntry[] }>>;
  readonly replicated: Readonly<Record<string, ReplicatedPartEntry<TensorEntry>>>;
  readonly blobs: Readonly<Record<string, ReplicatedPartEntry<BlobEntry>>>;
  readonly chunks: Readonly<Record<string, ChunkInfo>>;
}

/** Serialises a part with its checksum. */
export function encodeRankPart(part: RankPart): Uint8Array {
  return encodeChecksummed(part);
}

/** Parses a part; a damaged one is `IntegrityMismatch` naming its key. */
export function decodeRankPart(key: string, bytes: Uint8Array): RankPart {
  const bad = (why: string): EngramError => new EngramError('IntegrityMismatch', `distributed save part ${key} is damaged: ${why}`, { key, reason: why });
  const body = decodeChecksummed(bytes, bad) as RankPart;
  if (body?.format !== 'engram.rank-part') throw bad('not a rank part');
  if (body.version !== 1) throw new EngramError('Unsupported', `distributed save part ${key} has version ${String(body.version)}, newer than this engram reads`, { key });
  return body;
}
