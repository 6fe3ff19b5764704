/**
 * @module WriteSession: the chunk side of one save. It cuts each item's bytes into chunks exactly as
 * every save does — tensors at fixed offsets (so chunk i lines up with chunk i of the parent, for
 * deltas), blobs and file literals at content-defined boundaries, small items bundled — and stores
 * them durably through one ChunkWriter. `Repository.save` and each rank of a distributed save
 * (distributed/) write through it, so their chunks are cut, encoded and deduplicated alike; what it
 * returns is the chunk map a manifest (or a rank's part) records, for {@link commitSnapshot}.
 */
import type { CodecPool } from '../codec/index.ts';
import type { ObjectStore } from '../store/index.ts';
import { dtypeSize, type DType, type Shape } from '../tensor/index.ts';
import { Bundler } from './bundler.ts';
import { chunkItems, type ChunkItem, type DeltaBaseOf } from './chunk-item.ts';
import { ChunkReader } from './chunk-reader.ts';
import { ChunkWriter } from './chunk-writer.ts';
import { deltaKeyframeRule, maxDeltaDepth, type DeltaKeyframeRule, type RepoConfig } from './config.ts';
import { chooseDeltaBase } from './delta-base.ts';
import type { ChunkInfo, ChunkRef, SnapshotManifest } from './manifest.ts';
import { shardsOf } from './tensor-region.ts';

export type { DeltaBaseOf } from './chunk-item.ts';
export type { DeltaBase } from './chunk-writer.ts';

/** Where a {@link WriteSession} stores its chunks and what they may be deltas against. */
export interface WriteSessionOptions {
  readonly store: ObjectStore;
  readonly config: RepoConfig;
  /** Encodes chunks off the main thread: the repository's pool (`Repository.codecs`). */
  readonly codecs: CodecPool;
  /** Chunks kept in flight at once. */
  readonly concurrency: number;
  /**
   * Chunks known to exist (objects are immutable, so a Repository shares one map across its saves).
   * The parent's chunks are added to it: the parent is committed, so they and their delta bases
   * exist, and saving an unchanged chunk again costs a hash and no request. Default: a new map.
   */
  readonly known?: Map<string, ChunkInfo>;
  /** The committed snapshot whose chunks this save's may be deltas against. */
  readonly parent?: SnapshotManifest;
  /**
   * The verified raw bytes of a committed chunk (a delta base); `item` names who needs it. Default:
   * a ChunkReader of its own on `store` and `codecs`.
   */
  readonly readChunk?: (hash: string, item: string) => Promise<Uint8Array>;
  /** Hears of every byte of an item once it is chunked (for progress). */
  readonly onBytes?: (bytes: number) => void;
}

/** What a finished session stored: every chunk its items use, delta bases included, and the new bytes. */
export interface WrittenChunks {
  /** By hash, sorted: the `chunks` map of a manifest. */
  readonly chunks: Record<string, ChunkInfo>;
  /** Bytes of new chunk objects this session wrote (chunks that already existed cost nothing). */
  readonly storedBytes: number;
}

/**
 * Stores the chunks of one save. Write every item, then {@link finish}; only then are the chunk
 * refs handed to `assign` final and every chunk durable, so only then may a manifest name them.
 *
 * @example
 * const session = new WriteSession({ store, config: repo.config, codecs: repo.codecs, concurrency: 8 });
 * const entry = { dtype: 'F32', shape: [4], byteLength: 16, chunks: [] as ChunkRef[] };
 * await session.writeTensor(bytes, 'F32', (refs) => void (entry.chunks = refs));
 * const { chunks } = await session.finish();
 */
export class WriteSession {
  readonly #writer: ChunkWriter;
  readonly #bundler: Bundler;
  readonly #item: ChunkItem;
  readonly #parent: SnapshotManifest | undefined;
  readonly #readChunk: (hash: string, item: string) => Promise<Uint8Array>;
  readonly #maxDepth: number;
  readonly #rule: DeltaKeyframeRule;

  constructor(options: WriteSessionOptions) {
    const { store, config, codecs, parent } = options;
    const known = options.known ?? new Map<string, ChunkInfo>();
    for (const [h, info] of Object.entries(parent?.chunks ?? {})) if (!known.has(h)) known.set(h, info);
    this.#maxDepth = maxDeltaDepth(config);
    this.#rule = deltaKeyframeRule(config);
    this.#writer = new ChunkWriter(store, { level: config.codec.level, concurrency: options.concurrency, known, maxDepth: this.#maxDepth, codecs });
    this.#bundler = new Bundler(config.bundleSize, (raw, width) => this.#writer.add(raw, width));
    this.#item = chunkItems(config, this.#writer, this.#bundler, options.onBytes);
    this.#parent = parent;
    if (options.readChunk) this.#readChunk = options.readChunk;
    else {
      const reader = new ChunkReader(store, { pool: codecs });
      this.#readChunk = (hash, item) => reader.chunk(hash, item);
    }
  }

  /**
   * Stores a tensor's (or a shard's) bytes cut at fixed offsets, byte-grouped by its dtype's width;
   * `assign` receives its chunk refs, at once or when its bundle is written. With `baseOf` (from
   * {@link tensorBases} or {@link shardBases}) a chunk may be stored as a delta.
   */
  async writeTensor(bytes: Uint8Array, dtype: DType, assign: (refs: ChunkRef[]) => void, baseOf?: DeltaBaseOf): Promise<void> {
    await this.#item(bytes, dtypeSize(dtype), true, assign, baseOf);
  }

  /** Stores an opaque byte string (a blob, a file's literal bytes) cut at content-defined boundaries. */
  async writeBlob(bytes: Uint8Array, assign: (refs: ChunkRef[]) => void): Promise<void> {
    await this.#item(bytes, 1, false, assign);
  }

  /** Records that the save uses `hash`, a committed chunk described by `info`, without touching it. */
  reference(hash: string, info: ChunkInfo): void {
    this.#writer.reference(hash, info);
  }

  /**
   * Delta bases of a whole tensor: chunk i of tensor `name` may be a delta against chunk i of the
   * parent's tensor of that name, if it has the same dtype and byte length.
   */
  tensorBases(name: string, dtype: DType, byteLength: number): DeltaBaseOf | undefined {
    const prev = this.#parent?.tensors[name];
    if (!prev || prev.dtype !== dtype || prev.byteLength !== byteLength) return undefined;
    return this.#basesIn(prev.chunks, name);
  }

  /**
   * Delta bases of one shard: chunk i may be a delta against chunk i of the parent's shard of tensor
   * `name` at the same box (a whole tensor of the parent counts as its single shard).
   */
  shardBases(name: string, dtype: DType, offsets: readonly number[], shape: Shape): DeltaBaseOf | undefined {
    const prev = this.#parent?.tensors[name];
    if (!prev || prev.dtype !== dtype) return undefined;
    const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, d) => v === b[d]);
    const match = shardsOf(prev).find((s) => same(s.offsets, offsets) && same(s.shape, shape));
    return match ? this.#basesIn(match.chunks, `tensor ${name}`) : undefined;
  }

  /**
   * Chunk i of an item may be a delta against `refs[i]` of the parent, or (rule `'stops-paying'`)
   * against a link of that chunk's chain: see {@link chooseDeltaBase}. `item` names it in errors.
   */
  #basesIn(refs: readonly ChunkRef[], item: string): DeltaBaseOf {
    const chunks = this.#parent!.chunks;
    return (i, length) => {
      const ref = refs[i];
      const info = ref ? chunks[ref.hash] : undefined;
      // Only a whole chunk lines up element for element; a range of a bundle does not.
      if (!ref || !info || ref.offset !== 0 || ref.length !== length || info.size !== length) return undefined;
      const base = chooseDeltaBase(ref.hash, chunks, this.#maxDepth, this.#rule);
      return { hash: base.hash, depth: base.depth, load: () => this.#readChunk(base.hash, item) };
    };
  }

  /**
   * Writes the open bundles and waits until every chunk is durably stored; returns every chunk the
   * items use with the bases of their delta chains, so the manifest alone tells GC what it needs.
   */
  async finish(): Promise<WrittenChunks> {
    await this.#bundler.flush();
    await this.#writer.flush();
    return { chunks: Object.fromEntries([...this.#writer.chunks].sort(([a], [b]) => (a < b ? -1 : 1))), storedBytes: this.#writer.storedBytes };
  }
}
