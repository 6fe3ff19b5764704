/** @module What `saveSharded` accepts: each rank's local shards of global tensors, and replicated state. */
import type { Clock, Snapshot } from '../repo/index.ts';
import type { JsonValue } from '../tensor/index.ts';
import type { DType, Shape } from '../tensor/index.ts';

/** One shard a rank holds: a box of the global tensor and its bytes in C order of `shape`. */
export interface LocalShard {
  /** Where the shard starts in the global tensor, one offset per dimension. */
  readonly offsets: readonly number[];
  /** The shard's own shape (same number of dimensions as the global tensor). */
  readonly shape: Shape;
  /** The bytes now, or on demand (read once, while the rank's chunks are written). */
  readonly data?: Uint8Array;
  readonly load?: () => Promise<Uint8Array>;
}

/** A global tensor of which this rank holds one or more shards. */
export interface ShardedTensorInput {
  readonly dtype: DType;
  /** The shape of the whole tensor; every rank that holds part of it must give the same. */
  readonly globalShape: Shape;
  readonly shards: readonly LocalShard[];
}

/** A tensor every rank (or some ranks) hold whole: stored once, checked equal across ranks. */
export interface ReplicatedTensorInput {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly data?: Uint8Array;
  readonly load?: () => Promise<Uint8Array>;
}

/** Options of {@link saveSharded}. Every rank of one save passes the same run, step and world size. */
export interface SaveShardedOptions {
  readonly run: string;
  /** The training step: with `run` it names the save, so ranks agree on it without talking. */
  readonly step: number;
  /** This process's rank, 0 … worldSize − 1. Rank 0 commits. */
  readonly rank: number;
  readonly worldSize: number;
  /** Overrides the save id derived from run and step (see {@link shardedSaveId}). */
  readonly saveId?: string;
  /** Global tensors by namespaced name, with this rank's shards of them. */
  readonly tensors?: Readonly<Record<string, ShardedTensorInput>>;
  /**
   * Tensors held whole. Give them on one rank to save the hashing elsewhere, or on every rank: ranks
   * that give the same name must give the same bytes (the commit checks), and they are stored once.
   */
  readonly replicated?: Readonly<Record<string, ReplicatedTensorInput>>;
  /** Opaque byte strings, replicated like `replicated`. */
  readonly blobs?: Readonly<Record<string, Uint8Array>>;
  /** Snapshot fields; only rank 0's are used. */
  readonly message?: string;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly meta?: Readonly<Record<string, JsonValue>>;
  readonly tags?: readonly string[];
  /** Parent ref; defaults to the run's head when rank 0 commits; null starts a new lineage. */
  readonly parent?: string | null;
  /**
   * A training framework's own barrier (e.g. `torch.distributed.barrier` through a bridge): every
   * rank calls it once its part is durable. Optional — without it rank 0 polls the store.
   */
  readonly barrier?: () => Promise<void>;
  /** How long rank 0 waits for every rank's part (default 5 minutes): then `Conflict`, no snapshot. */
  readonly timeoutMs?: number;
  readonly clock?: Clock;
  /** Sleeps between polls (injectable for tests). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What one rank's `saveSharded` returns. */
export interface ShardedSaveResult {
  readonly saveId: string;
  readonly rank: number;
  /** The committed snapshot: set on rank 0 only (other ranks return once their part is durable). */
  readonly snapshot?: Snapshot;
  /** Bytes of new chunk objects this rank wrote (chunks other ranks or saves stored cost nothing). */
  readonly storedBytes: number;
}
