/**
 * @module Reusable scratch buffers for one thread. Memory touched for the first time costs page
 * faults (about 0.8 GB/s on the machines engram targets), more than the byte shuffling it holds, so
 * the codec's intermediate buffers (grouped planes, deltas) are recycled rather than allocated per
 * chunk. Each thread has its own module instance, hence its own pool.
 */

/** Buffers kept for reuse at most: a chunk's encode or decode holds about four at once, and a few more wait to come back from the other thread. */
const MAX_FREE = 16;

/** A small free list of ArrayBuffers. */
export class ScratchPool {
  readonly #free: ArrayBuffer[] = [];

  /** A buffer of exactly `length` bytes, recycled when one of a similar size is free. Its contents are undefined. */
  take(length: number): Uint8Array {
    let at = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const n = this.#free[i]!.byteLength;
      // Within 2x, so that a huge buffer is not pinned by a stream of tiny requests.
      if (n >= length && n <= 2 * length + 4096 && (at < 0 || n < this.#free[at]!.byteLength)) at = i;
    }
    const buffer = at >= 0 ? this.#free.splice(at, 1)[0]! : new ArrayBuffer(length);
    return new Uint8Array(buffer, 0, length);
  }

  /** Returns buffers from {@link take}; the caller must no longer use them. */
  give(...bufs: Uint8Array[]): void {
    for (const b of bufs) {
      if (this.#free.length >= MAX_FREE) this.#free.shift();
      this.#free.push(b.buffer as ArrayBuffer);
    }
  }
}

/**
 * This thread's pool: the codec's intermediate buffers and the chunk objects and raw chunks it
 * returns. A buffer handed out for a result comes back through {@link ScratchPool.give} only from a
 * caller that owns it and is done with it (CodecPool.recycle, from a codec worker's caller);
 * anything else keeps its result and lets the collector have it.
 */
export const threadScratch = new ScratchPool();
