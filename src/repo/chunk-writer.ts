/**
 * @module ChunkWriter: stores raw chunks under the hash of their bytes, once. Identical chunks —
 * within a save, across saves, across runs and formats — become one object, and the manifest
 * learns each chunk's size, stored size and delta base.
 */
import { encodeChunk, readChunkHeader, sha256Hex, type ObjectStore } from '../store/index.ts';
import { chunkKey } from './chunk-key.ts';
import type { ChunkInfo } from './manifest.ts';
import { TaskPool } from './task-pool.ts';

/** Bytes of a chunk object's header read to learn its delta base when the object already exists. */
const HEADER_PROBE = 64;

/** Writes the chunks of one save, a bounded number at a time. */
export class ChunkWriter {
  readonly #store: ObjectStore;
  readonly #level: number;
  readonly #pool: TaskPool;
  /** Hashes known to be stored, shared across saves of one Repository (objects are immutable). */
  readonly #known: Map<string, ChunkInfo>;
  /** The chunks this save references, for its manifest. */
  readonly chunks = new Map<string, ChunkInfo>();
  /** Bytes of new objects this save wrote. */
  storedBytes = 0;

  constructor(store: ObjectStore, options: { level: number; concurrency: number; known: Map<string, ChunkInfo> }) {
    this.#store = store;
    this.#level = options.level;
    this.#pool = new TaskPool(options.concurrency);
    this.#known = options.known;
  }

  /**
   * Hashes `raw` and schedules it to be stored unless it already is. Returns the hash at once;
   * `raw` must not be mutated until {@link flush} resolves. `width` is the element size that
   * byte-grouping uses.
   */
  async add(raw: Uint8Array, width: number): Promise<string> {
    const hash = sha256Hex(raw);
    if (this.chunks.has(hash)) return hash;
    const known = this.#known.get(hash);
    if (known) {
      this.chunks.set(hash, known);
      return hash;
    }
    // Reserve the slot so a duplicate within this save is not written twice.
    this.chunks.set(hash, { size: raw.byteLength, stored: 0 });
    await this.#pool.run(async () => {
      const info = await this.#store1(hash, raw, width);
      this.chunks.set(hash, info);
      this.#known.set(hash, info);
    });
    return hash;
  }

  async #store1(hash: string, raw: Uint8Array, width: number): Promise<ChunkInfo> {
    const key = chunkKey(hash);
    const existing = await this.#store.head(key);
    if (existing) return this.#describeExisting(key, raw.byteLength, existing.size);
    const encoded = await encodeChunk(raw, { width, level: this.#level });
    const written = await this.#store.put(key, encoded, { ifAbsent: true });
    if (!written) {
      const again = await this.#store.head(key);
      return this.#describeExisting(key, raw.byteLength, again?.size ?? encoded.byteLength);
    }
    this.storedBytes += encoded.byteLength;
    const header = readChunkHeader(encoded);
    return header.baseHash ? { size: raw.byteLength, stored: encoded.byteLength, base: header.baseHash } : { size: raw.byteLength, stored: encoded.byteLength };
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
    return base ? { size, stored, base } : { size, stored };
  }

  /** Waits until every scheduled chunk is durably stored. */
  async flush(): Promise<void> {
    await this.#pool.drain();
  }
}
