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
  /** Offsets of the items in this bundle by a cheap key of their bytes (see {@link keyOf}). */
  readonly items: Map<string, number[]>;
}

/**
 * A key of an item's bytes for finding an identical earlier item in the same bundle: its length
 * and its first and last 8 bytes (a full comparison confirms). A state that saves the same bytes
 * twice — an EWC anchor taken at a task boundary next to the model's weights — stores them once.
 */
function keyOf(bytes: Uint8Array): string {
  const n = bytes.byteLength;
  let k = `${n}:`;
  for (let i = 0; i < Math.min(8, n); i++) k += `${bytes[i]},`;
  for (let i = Math.max(8, n - 8); i < n; i++) k += `${bytes[i]},`;
  return k;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
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
    const key = keyOf(bytes);
    const twin = b?.items.get(key)?.find((o) => sameBytes(b!.buffer.subarray(o, o + bytes.byteLength), bytes));
    if (b && twin !== undefined) {
      b.waiters.push({ offset: twin, length: bytes.byteLength, assign });
      return;
    }
    if (b && b.used + bytes.byteLength > Math.max(this.#size, b.buffer.byteLength)) {
      await this.#close(width, b);
      b = undefined;
    }
    if (!b) {
      b = { buffer: new Uint8Array(Math.min(Math.max(this.#size, bytes.byteLength), Math.max(INITIAL_BYTES, bytes.byteLength))), used: 0, waiters: [], items: new Map() };
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
    const same = b.items.get(key);
    if (same) same.push(offset);
    else b.items.set(key, [offset]);
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
