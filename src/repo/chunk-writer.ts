/**
 * @module ChunkWriter: stores raw chunks under the hash of their bytes, once. Identical chunks —
 * within a save, across saves, across runs and formats — become one object, and the manifest
 * learns each chunk's size, stored size and delta base.
 */
import { type ObjectStore } from '../store/index.ts';
import { readChunkHeader, sha256Hex, type CodecPool } from '../codec/index.ts';
import { chunkKey } from './chunk-key.ts';
import type { ChunkInfo } from './manifest.ts';
import { TaskPool } from './task-pool.ts';

/** Bytes of a chunk object's header read to learn its delta base when the object already exists. */
const HEADER_PROBE = 64;

/** A chunk the new chunk may be stored as a delta against: the same chunk of the parent snapshot. */
export interface DeltaBase {
  readonly hash: string;
  /** The base's own chain depth (0 for a keyframe). */
  readonly depth: number;
  /** Its verified raw bytes; called only when the chunk is actually new. */
  load(): Promise<Uint8Array>;
}

/** Writes the chunks of one save, a bounded number at a time. */
export class ChunkWriter {
  readonly #store: ObjectStore;
  readonly #level: number;
  readonly #maxDepth: number;
  readonly #pool: TaskPool;
  /** Encodes (and, for fresh chunks, hashes) off the main thread: the repository's pool, passed in. */
  readonly #codecs: CodecPool;
  /** Hashes known to be stored, shared across saves of one Repository (objects are immutable). */
  readonly #known: Map<string, ChunkInfo>;
  /** The chunks this save references, for its manifest. */
  readonly chunks = new Map<string, ChunkInfo>();
  /** Bytes of new objects this save wrote. */
  storedBytes = 0;

  constructor(store: ObjectStore, options: { level: number; concurrency: number; known: Map<string, ChunkInfo>; maxDepth: number; codecs: CodecPool }) {
    this.#store = store;
    this.#codecs = options.codecs;
    this.#level = options.level;
    this.#maxDepth = options.maxDepth;
    this.#pool = new TaskPool(options.concurrency);
    this.#known = options.known;
  }

  /**
   * Hashes `raw` and schedules it to be stored unless it already is. Returns the hash at once;
   * `raw` must not be mutated until {@link flush} resolves. `width` is the element size that
   * byte-grouping uses. With `base`, the chunk is stored as a delta against it when that is smaller
   * and the chain stays within the configured depth.
   */
  async add(raw: Uint8Array, width: number, base?: DeltaBase): Promise<string> {
    const hash = sha256Hex(raw);
    if (this.chunks.has(hash)) return hash;
    const known = this.#known.get(hash);
    if (known) {
      this.chunks.set(hash, known);
      return hash;
    }
    // Reserve the slot so a duplicate within this save is not written twice.
    this.chunks.set(hash, { size: raw.byteLength, stored: 0 });
    const usable = base && base.hash !== hash && base.depth < this.#maxDepth ? base : undefined;
    await this.#pool.run(async () => {
      const info = await this.#store1(hash, raw, width, usable);
      this.chunks.set(hash, info);
      this.#known.set(hash, info);
    });
    return hash;
  }

  /**
   * Stores a chunk that has no delta base (a tensor new to this lineage): it is hashed on a codec
   * worker together with its encoding, which takes the main thread's largest cost (SHA-256, about a
   * second per GiB on one core) off the critical path of a first save. Resolves once the chunk is
   * scheduled; `onHash` receives its hash before {@link flush} resolves. If the chunk turns out to
   * exist already, the encoding is dropped and nothing is written.
   */
  async addFresh(raw: Uint8Array, width: number, onHash: (hash: string) => void): Promise<void> {
    await this.#pool.run(async () => {
      const { hash, encoded } = await this.#codecs.hashAndEncode(raw, { width, level: this.#level, lease: true });
      onHash(hash);
      try {
        if (this.chunks.has(hash)) return;
        const known = this.#known.get(hash);
        if (known) {
          this.chunks.set(hash, known);
          return;
        }
        this.chunks.set(hash, { size: raw.byteLength, stored: 0 });
        const key = chunkKey(hash);
        const existing = await this.#store.head(key);
        const info = existing ? await this.#describeExisting(key, raw.byteLength, existing.size) : await this.#put(key, raw.byteLength, encoded, undefined);
        this.chunks.set(hash, info);
        this.#known.set(hash, info);
      } finally {
        // Stored or not needed: its memory codes the next chunk (stores keep no reference to what they were given).
        this.#codecs.recycle(encoded);
      }
    });
  }

  /** Records that this save uses `hash`, a committed chunk described by `info`, without touching it. */
  reference(hash: string, info: ChunkInfo): void {
    if (!this.chunks.has(hash)) this.chunks.set(hash, info);
    if (!this.#known.has(hash)) this.#known.set(hash, info);
  }

  async #store1(hash: string, raw: Uint8Array, width: number, base: DeltaBase | undefined): Promise<ChunkInfo> {
    const key = chunkKey(hash);
    const existing = await this.#store.head(key);
    if (existing) return this.#describeExisting(key, raw.byteLength, existing.size);
    const baseBytes = base ? await base.load() : undefined;
    const encoded = await this.#codecs.encode(raw, { width, level: this.#level, base: base && baseBytes ? { hash: base.hash, bytes: baseBytes } : undefined, lease: true });
    try {
      return await this.#put(key, raw.byteLength, encoded, base);
    } finally {
      this.#codecs.recycle(encoded);
    }
  }

  /** Writes an encoded chunk if absent and describes it (a concurrent writer may have won the race). */
  async #put(key: string, size: number, encoded: Uint8Array, base: DeltaBase | undefined): Promise<ChunkInfo> {
    const written = await this.#store.put(key, encoded, { ifAbsent: true });
    if (!written) {
      const again = await this.#store.head(key);
      return this.#describeExisting(key, size, again?.size ?? encoded.byteLength);
    }
    this.storedBytes += encoded.byteLength;
    const header = readChunkHeader(encoded);
    return header.baseHash && base ? { size, stored: encoded.byteLength, base: header.baseHash, depth: base.depth + 1 } : { size, stored: encoded.byteLength };
  }

  /** An object another save stored: record its base too, so no live chunk ever loses its base. */
  async #describeExisting(key: string, size: number, stored: number): Promise<ChunkInfo> {
    const head = await this.#store.get(key, { offset: 0, length: Math.min(stored, HEADER_PROBE) });
    let base: string | undefined;
    try {
      base = readChunkHeader(head).baseHash;
    } catch {
      // A damaged existing object: verify reports it; its raw hash is still what we reference.
    }
    if (!base) return { size, stored };
    // Its depth is not in the object; from a known base it is one more, otherwise assume the
    // longest chain so that no new delta is ever built on top of it.
    const known = this.#known.get(base);
    const depth = known ? (known.depth ?? 0) + 1 : this.#maxDepth;
    return { size, stored, base, depth };
  }

  /**
   * Waits until every scheduled chunk is durably stored, then adds to {@link chunks} every base of
   * every delta chain it knows, so the manifest alone tells GC and restore what the snapshot needs.
   */
  async flush(): Promise<void> {
    await this.#pool.drain();
    const pending = [...this.chunks.values()].map((i) => i.base).filter((b): b is string => b !== undefined);
    while (pending.length > 0) {
      const b = pending.pop()!;
      if (this.chunks.has(b)) continue;
      const info = this.#known.get(b);
      if (!info) continue;
      this.chunks.set(b, info);
      if (info.base) pending.push(info.base);
    }
  }
}
