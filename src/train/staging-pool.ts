/**
 * @module Staging buffers for asynchronous saves, reused from one save to the next. Memory touched
 * for the first time is slow on the machines engram runs on (page faults on every 4 KiB), so a
 * staged copy of a 1 GiB model into fresh buffers costs far more than a copy into buffers that were
 * used before. A set holds one buffer per tensor name and goes back to the pool when its save is
 * committed; with at most `maxInFlight` saves in flight, the pool never holds more sets than that.
 */

/** The buffers of one staged save. */
export class StagingSet {
  readonly #buffers = new Map<string, Uint8Array>();
  readonly #shared: boolean;

  /** Bytes newly allocated by the last {@link begin}…copies (0 once the shapes are steady). */
  allocatedBytes = 0;

  /** `shared`: back the buffers with SharedArrayBuffers, so another thread can read them in place. */
  constructor(shared = false) {
    this.#shared = shared;
  }

  /** Starts a new staging into this set. */
  begin(): void {
    this.allocatedBytes = 0;
  }

  /** Copies `data` into this set's buffer for `name` (reallocated only when the size changed). */
  copy(name: string, data: Uint8Array): Uint8Array {
    let buf = this.#buffers.get(name);
    if (!buf || buf.byteLength !== data.byteLength) {
      buf = new Uint8Array(this.#shared ? new SharedArrayBuffer(data.byteLength) : new ArrayBuffer(data.byteLength));
      this.#buffers.set(name, buf);
      this.allocatedBytes += data.byteLength;
    }
    buf.set(data);
    return buf;
  }

  /** Drops buffers of names the last staging did not use (a model that lost a layer). */
  retain(names: ReadonlySet<string>): void {
    for (const n of [...this.#buffers.keys()]) if (!names.has(n)) this.#buffers.delete(n);
  }
}

/** A pool of staging sets. */
export class StagingPool {
  readonly #free: StagingSet[] = [];
  readonly #shared: boolean;

  /** `shared`: sets allocate SharedArrayBuffers (see {@link StagingSet}). */
  constructor(shared = false) {
    this.#shared = shared;
  }

  /** A set to stage into: a free one if any, else a new one. */
  acquire(): StagingSet {
    const set = this.#free.pop() ?? new StagingSet(this.#shared);
    set.begin();
    return set;
  }

  /** Returns a set whose save has finished (committed or failed). */
  release(set: StagingSet): void {
    this.#free.push(set);
  }
}
