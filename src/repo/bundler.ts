/**
 * @module Bundler: packs small items into shared chunks. Thousands of biases and norms would
 * otherwise be thousands of tiny objects; items are grouped by element width so that byte-grouping
 * still lines up inside a bundle.
 */
import type { ChunkRef } from './manifest.ts';

interface Pending {
  readonly buffer: Uint8Array;
  used: number;
  readonly waiters: { offset: number; length: number; assign: (refs: ChunkRef[]) => void }[];
}

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
    if (b && b.used + bytes.byteLength > b.buffer.byteLength) {
      await this.#close(width, b);
      b = undefined;
    }
    if (!b) {
      b = { buffer: new Uint8Array(Math.max(this.#size, bytes.byteLength)), used: 0, waiters: [] };
      this.#open.set(width, b);
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
