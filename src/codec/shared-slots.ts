/**
 * @module SharedSlots: a fixed set of chunk-sized SharedArrayBuffers that the calling thread and the
 * codec workers all see. A chunk crosses threads as a slot number and a length instead of a moved
 * ArrayBuffer: V8 counts every buffer a thread receives as new external memory and answers with a
 * full garbage collection every few dozen 4 MiB chunks, however little JavaScript garbage there is
 * (measured: ~1 CPU-s per GiB on the main thread), and a slot is memory touched once and reused.
 *
 * A slot belongs to one holder at a time: the caller that took it, a request in flight, or the
 * caller that received a result in it and must {@link release} it when done. Nothing here frees a
 * slot on its own; a slot never released is only lost capacity, and callers fall back to moving
 * buffers when none is free.
 */

/** Bytes per slot: a 4 MiB tensor chunk plus a chunk object's header and slack. */
export const SLOT_BYTES = 4 * 1024 * 1024 + 4096;

/** Slots at most (each made on first need). */
const MAX_SLOTS = 32;

/** Chunk-sized shared buffers, handed out by number. */
export class SharedSlots {
  readonly #buffers: SharedArrayBuffer[] = [];
  readonly #free: number[] = [];
  /** Views handed out by {@link lease}, so a caller can give one back by the view alone. */
  readonly #leased = new WeakMap<Uint8Array, number>();
  /** Hears of each new slot (to register it with every worker). */
  readonly #onNew: (index: number, buffer: SharedArrayBuffer) => void;

  constructor(onNew: (index: number, buffer: SharedArrayBuffer) => void) {
    this.#onNew = onNew;
  }

  /** Every slot made so far, by number (for a worker that starts later). */
  get buffers(): readonly SharedArrayBuffer[] {
    return this.#buffers;
  }

  /** Number of free slots, making new ones up to the limit. */
  available(): number {
    return this.#free.length + (MAX_SLOTS - this.#buffers.length);
  }

  /** A free slot's number, or undefined when all are held. */
  take(): number | undefined {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#buffers.length >= MAX_SLOTS) return undefined;
    const index = this.#buffers.length;
    const buffer = new SharedArrayBuffer(SLOT_BYTES);
    this.#buffers.push(buffer);
    this.#onNew(index, buffer);
    return index;
  }

  /** Gives slot `index` back. */
  release(index: number): void {
    this.#free.push(index);
  }

  /** A view of `length` bytes at the start of slot `index`, which the caller now holds. */
  lease(index: number, length: number): Uint8Array {
    const view = new Uint8Array(this.#buffers[index]!, 0, length);
    this.#leased.set(view, index);
    return view;
  }

  /** The slot a view from {@link lease} is in, or undefined for any other buffer. */
  slotOf(view: Uint8Array): number | undefined {
    return this.#leased.get(view);
  }

  /** Takes back a view from {@link lease}: true if it was one (its slot is free again). */
  giveBack(view: Uint8Array): boolean {
    const index = this.#leased.get(view);
    if (index === undefined) return false;
    this.#leased.delete(view);
    this.release(index);
    return true;
  }

  /** Forgets that `view` is leased (its slot now belongs to a request) and returns its slot. */
  claim(view: Uint8Array): number | undefined {
    const index = this.#leased.get(view);
    if (index !== undefined) this.#leased.delete(view);
    return index;
  }
}
