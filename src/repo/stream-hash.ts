/**
 * @module streamHash: the SHA-256 of a stream of pieces, taken on a thread of its own. A saved
 * file's whole-file hash (`FileEntry.sha256`) is one sequential stream, about 0.9 CPU-s per GiB; on
 * the calling thread it held up the save's main loop, which also reads, checks and hands out every
 * chunk to the codec workers. Each piece is copied into one of a few shared buffers (memory touched
 * once and reused, so no new external memory for V8 to answer with full collections, see
 * codec/shared-slots.ts) and hashed there while the caller goes on; a stream's pieces are hashed in
 * the order given.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { EngramError } from '../errors/index.ts';

/** A SHA-256 being taken: pieces in order, then the hex digest. */
export interface StreamHash {
  /** Adds `bytes` (copied before this resolves: the caller may reuse them afterwards). */
  update(bytes: Uint8Array): Promise<void>;
  /** The digest of everything added; call once, after the last update has resolved. */
  digest(): Promise<string>;
}

/** Bytes per shared buffer, and how many: a few pieces in flight keep the hashing thread busy. */
const RING_BYTES = 4 << 20;
const RING_SIZE = 4;

// CommonJS, evaluated: no module file to resolve from src/ or dist/, and it loads in milliseconds.
const THREAD = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const ring = [];
const streams = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'ring') { ring[m.index] = new Uint8Array(m.buffer); return; }
  if (m.op === 'update') {
    let h = streams.get(m.id);
    if (!h) streams.set(m.id, (h = createHash('sha256')));
    h.update(ring[m.slot].subarray(0, m.length));
    parentPort.postMessage({ op: 'free', slot: m.slot });
    return;
  }
  const h = streams.get(m.id) ?? createHash('sha256');
  streams.delete(m.id);
  parentPort.postMessage({ op: 'digest', id: m.id, hex: h.digest('hex') });
});`;

type Reply = { op: 'free'; slot: number } | { op: 'digest'; id: number; hex: string };

/** The hashing thread: shared buffers, the free ones, and digests awaited. */
class HashThread {
  readonly #worker: Worker;
  readonly #ring: Uint8Array[] = [];
  readonly #free: number[] = [];
  readonly #slotWaiters: (() => void)[] = [];
  readonly #digests = new Map<number, { resolve: (hex: string) => void; reject: (e: unknown) => void }>();
  #busy = 0;
  #nextId = 1;
  #failure: unknown;

  constructor() {
    this.#worker = new Worker(THREAD, { eval: true });
    // Idle, it keeps no process alive; busy, it must (the caller waits on its replies).
    this.#worker.unref();
    for (let i = 0; i < RING_SIZE; i++) {
      const buffer = new SharedArrayBuffer(RING_BYTES);
      this.#ring.push(new Uint8Array(buffer));
      this.#free.push(i);
      this.#worker.postMessage({ op: 'ring', index: i, buffer });
    }
    this.#worker.on('message', (m: Reply) => {
      if (m.op === 'free') {
        this.#free.push(m.slot);
        this.#slotWaiters.shift()?.();
      } else {
        this.#digests.get(m.id)?.resolve(m.hex);
        this.#digests.delete(m.id);
      }
      this.#done();
    });
    const fail = (e: unknown): void => {
      this.#failure ??= e;
      for (const d of this.#digests.values()) d.reject(e);
      this.#digests.clear();
      for (const w of this.#slotWaiters.splice(0)) w();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new EngramError('IOError', `the hashing thread exited (code ${code})`, { code })));
  }

  /** Whether the thread is unusable (it failed or exited): hash on the calling thread instead. */
  get broken(): boolean {
    return this.#failure !== undefined;
  }

  #start(): void {
    if (this.#busy++ === 0) this.#worker.ref();
  }

  #done(): void {
    if (--this.#busy === 0) this.#worker.unref();
  }

  #check(): void {
    if (this.#failure !== undefined) throw new EngramError('IOError', `the hashing thread failed: ${String(this.#failure)}`, {}, { cause: this.#failure });
  }

  /** A new stream on this thread. */
  stream(): StreamHash {
    const id = this.#nextId++;
    return {
      update: async (bytes) => {
        for (let at = 0; at < bytes.byteLength; at += RING_BYTES) {
          this.#check();
          while (this.#free.length === 0) {
            await new Promise<void>((r) => this.#slotWaiters.push(r));
            this.#check();
          }
          const slot = this.#free.pop()!;
          const piece = bytes.subarray(at, Math.min(bytes.byteLength, at + RING_BYTES));
          this.#ring[slot]!.set(piece);
          this.#start();
          this.#worker.postMessage({ op: 'update', id, slot, length: piece.byteLength });
        }
      },
      digest: () => {
        this.#check();
        return new Promise<string>((resolve, reject) => {
          this.#digests.set(id, { resolve, reject });
          this.#start();
          this.#worker.postMessage({ op: 'digest', id });
        });
      },
    };
  }
}

let thread: HashThread | undefined;

/** A stream hashed on the calling thread. */
function inlineStream(): StreamHash {
  const hash = createHash('sha256');
  return {
    update: async (bytes) => void hash.update(bytes),
    digest: async () => hash.digest('hex'),
  };
}

/**
 * A SHA-256 stream: on the process's hashing thread (started on first use) when `threaded`, else
 * on the calling thread — for small files, where a thread's start and hand-offs cost more than
 * the hash, and wherever threads cannot start.
 *
 * @example
 * const h = streamHash(true);
 * await h.update(header);
 * await h.update(weights);
 * const hex = await h.digest();
 */
export function streamHash(threaded: boolean): StreamHash {
  if (!threaded) return inlineStream();
  if (!thread || thread.broken) {
    try {
      thread = new HashThread();
    } catch {
      return inlineStream();
    }
  }
  return thread.stream();
}
