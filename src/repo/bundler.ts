/**
 * @module Bundler: packs small items into shared chunks. Thousands of biases and norms would
 * otherwise be thousands of tiny objects; items are grouped by element width so that byte-grouping
 * still lines up inside a bundle.
 */
import type { ChunkRef } from './manifest.ts';

interface Pending {
  buffer: Uint8Array;
  used: number;
  readonly waiters: { offset: number; length: number; assign: (refs: ChunkRef[]) => void }[];
}

/** Bytes a new bundle starts with before it grows. */
const INITIAL_BYTES = 64 * 1024;

/** Collects small items per width; `flush` writes what is left. */
export class Bundler {
  readonly #size: number;
  readonly #write: (raw: Uint8Array, width: number) => Promise<string>;
  readonly #open = new Map<number, Pending>();

  /** `write` stores one raw chunk and returns its hash. */
  constructor(size: number, write: (raw: Uint8Array, width: number) => Promise<string>) {
    this.#size = size;
    this.#write = write;
  }

  /**
   * Copies `bytes` into the open bundle of `width`; `assign` receives the item's chunk refs once
   * that bundle is written (by a later `add` that fills it, or by {@link flush}).
   */
  async add(bytes: Uint8Array, width: number, assign: (refs: ChunkRef[]) => void): Promise<void> {
    let b = this.#open.get(width);
    if (b && b.used + bytes.byteLength > Math.max(this.#size, b.buffer.byteLength)) {
      await this.#close(width, b);
      b = undefined;
    }
    if (!b) {
      b = { buffer: new Uint8Array(Math.min(Math.max(this.#size, bytes.byteLength), Math.max(INITIAL_BYTES, bytes.byteLength))), used: 0, waiters: [] };
      this.#open.set(width, b);
    }
    if (b.used + bytes.byteLength > b.buffer.byteLength) {
      // Grown by doubling up to the bundle size: a small model's save (a checkpoint every few
      // steps) then allocates and touches what it fills, not a whole chunk's worth of fresh memory.
      let n = b.buffer.byteLength;
      while (n < b.used + bytes.byteLength) n *= 2;
      const grown = new Uint8Array(Math.min(n, Math.max(this.#size, b.used + bytes.byteLength)));
      grown.set(b.buffer.subarray(0, b.used));
      b.buffer = grown;
    }
    const offset = b.used;
    b.buffer.set(bytes, offset);
    b.used += bytes.byteLength;
    b.waiters.push({ offset, length: bytes.byteLength, assign });
  }

  async #close(width: number, b: Pending): Promise<void> {
    this.#open.delete(width);
    const hash = await this.#write(b.buffer.subarray(0, b.used), width);
    for (const w of b.waiters) w.assign([{ hash, offset: w.offset, length: w.length }]);
  }

  /** Writes every open bundle. */
  async flush(): Promise<void> {
    for (const [width, b] of [...this.#open]) await this.#close(width, b);
  }
}
