/**
 * @module A pool of worker threads that encode and decode chunk objects. On the main thread alone,
 * byte-grouping, plane statistics and rANS of a 1 GiB checkpoint take seconds of one core; the pool
 * spreads chunks over every core while the main thread hashes and does I/O. Workers are referenced
 * only while they have work, so an idle pool never keeps a process alive.
 *
 * Inputs are copied into buffers that are transferred (not cloned) to a worker and back; small
 * chunks, where a message round trip costs more than the work, are coded inline.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EngramError, type ErrorCode } from '../errors/index.ts';
import { decodeChunk, encodeChunk } from './chunk-codec.ts';
import { sha256Hex } from './hash.ts';

/**
 * A request to a codec worker. `returns` are buffers the caller is done with (chunk objects it has
 * stored, raw chunks it has copied out), transferred back for the worker to code into next.
 */
export type CodecRequest = (
  | { readonly op: 'encode'; readonly id: number; readonly raw: Uint8Array; readonly width: number; readonly level: number; readonly base?: { readonly hash: string; readonly bytes: Uint8Array }; readonly hash?: boolean }
  | { readonly op: 'decode'; readonly id: number; readonly encoded: Uint8Array; readonly expectedHash?: string; readonly base?: { readonly hash: string; readonly bytes: Uint8Array } }
) & { readonly returns?: readonly ArrayBuffer[] };

/** A codec worker's reply. `spares` are the request's input buffers, for the caller's next copies. */
export type CodecReply =
  | { readonly id: number; readonly ok: true; readonly bytes: Uint8Array; readonly spares?: readonly ArrayBuffer[]; readonly hash?: string }
  | { readonly id: number; readonly ok: false; readonly error: { readonly code: ErrorCode; readonly message: string; readonly data: Record<string, unknown> } };

/** Recycled input buffers kept at most. */
const MAX_SPARES = 16;
/** Finished results kept to send back to the workers at most, and sent with one request at most. */
const MAX_RETURNS = 16;
const RETURNS_PER_REQUEST = 4;

/** Chunks below this size are coded on the calling thread. */
const INLINE_BELOW = 128 * 1024;

interface Slot {
  readonly worker: Worker;
  busy: number;
  /** The worker has loaded its code; until then requests are coded inline instead of queueing behind a start-up. */
  ready: boolean;
}

/** Encodes and decodes chunk objects on worker threads. */
export class CodecPool {
  static #shared: CodecPool | undefined;
  readonly #size: number;
  readonly #slots: Slot[] = [];
  readonly #pending = new Map<number, { resolve: (r: { bytes: Uint8Array; hash?: string }) => void; reject: (e: unknown) => void; slot: Slot }>();
  /**
   * Input buffers the workers sent back, reused for the next copies: memory touched for the first
   * time is slow (page faults), so a save recycles a few chunk-sized buffers instead of allocating
   * one per chunk.
   */
  readonly #spares: ArrayBuffer[] = [];
  /** Results the caller is done with ({@link recycle}), waiting to ride back to a worker. */
  readonly #returns: ArrayBuffer[] = [];
  /** Buffers {@link buffer} lent out (views of larger spares): {@link decode} may transfer them whole. */
  readonly #lent = new WeakSet<ArrayBuffer>();
  #nextId = 1;
  #broken = false;

  /** A pool of `size` workers (default: one per core, at most 4), started on first use. */
  constructor(size = Math.min(4, Math.max(1, availableParallelism()))) {
    this.#size = size;
  }

  /** The process-wide pool that repositories share. */
  static shared(): CodecPool {
    CodecPool.#shared ??= new CodecPool();
    return CodecPool.#shared;
  }

  /**
   * Sets the size of this thread's shared pool before its first use; 0 codes everything on the
   * calling thread. A thread that is itself a background worker (the checkpoint commit thread) uses
   * 0: more threads than cores only add hand-offs.
   */
  static configureShared(size: number): void {
    if (CodecPool.#shared) throw new EngramError('InvalidArgument', 'the shared codec pool is already in use');
    CodecPool.#shared = new CodecPool(size);
  }

  /** {@link encodeChunk} on a worker. `raw` is copied; the caller may reuse it once this resolves. */
  async encode(raw: Uint8Array, options: { width: number; level: number; base?: { hash: string; bytes: Uint8Array } }): Promise<Uint8Array> {
    const slot = raw.byteLength < INLINE_BELOW ? undefined : this.#slot();
    if (!slot) return encodeChunk(raw, options);
    const req: CodecRequest = { op: 'encode', id: this.#nextId++, raw: this.#copy(raw), width: options.width, level: options.level, base: options.base && { hash: options.base.hash, bytes: this.#copy(options.base.bytes) } };
    return (await this.#send(slot, req, [req.raw.buffer as ArrayBuffer, ...(req.base ? [req.base.bytes.buffer as ArrayBuffer] : [])])).bytes;
  }

  /** SHA-256 of `raw` and its {@link encodeChunk} encoding (no delta base), both on a worker. */
  async hashAndEncode(raw: Uint8Array, options: { width: number; level: number }): Promise<{ hash: string; encoded: Uint8Array }> {
    const slot = raw.byteLength < INLINE_BELOW ? undefined : this.#slot();
    if (!slot) return { hash: sha256Hex(raw), encoded: await encodeChunk(raw, options) };
    const req: CodecRequest = { op: 'encode', id: this.#nextId++, raw: this.#copy(raw), width: options.width, level: options.level, hash: true };
    const reply = await this.#send(slot, req, [req.raw.buffer as ArrayBuffer]);
    if (reply.hash === undefined) throw new EngramError('IOError', 'codec worker did not return a hash');
    return { hash: reply.hash, encoded: reply.bytes };
  }

  /**
   * {@link decodeChunk} on a worker: decodes, undoes a delta against `base` (the verified raw bytes
   * of the chunk the header names) and checks `expectedHash`. `encoded` is transferred: the caller
   * must not use it afterwards.
   */
  async decode(encoded: Uint8Array, options: { expectedHash?: string; base?: { hash: string; bytes: Uint8Array } }): Promise<Uint8Array> {
    const slot = encoded.byteLength < INLINE_BELOW ? undefined : this.#slot();
    const base = options.base;
    if (!slot) {
      return decodeChunk(encoded, { expectedHash: options.expectedHash, getBase: base ? async () => base.bytes : undefined });
    }
    const whole = encoded.byteOffset === 0 && encoded.byteLength === encoded.buffer.byteLength && !(encoded.buffer instanceof SharedArrayBuffer);
    const own = whole || this.#lent.has(encoded.buffer as ArrayBuffer) ? encoded : encoded.slice();
    const req: CodecRequest = { op: 'decode', id: this.#nextId++, encoded: own, expectedHash: options.expectedHash, base: base && { hash: base.hash, bytes: this.#copy(base.bytes) } };
    return (await this.#send(slot, req, [own.buffer as ArrayBuffer, ...(req.base ? [req.base.bytes.buffer as ArrayBuffer] : [])])).bytes;
  }

  /**
   * Hands back a result of {@link encode} or {@link decode} (or a buffer from {@link buffer}) that
   * the caller has finished with — a chunk object once stored, a raw chunk once copied out — so the
   * next chunks are coded into memory already touched (first touch costs page faults, slower here
   * than the coding itself). The caller must hold no other reference to `bytes` or to any view of
   * its buffer: the buffer is moved to another thread (detached here) or written over. Buffers
   * that are not plain, whole ArrayBuffers are ignored.
   */
  recycle(bytes: Uint8Array): void {
    const buffer = bytes.buffer;
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < INLINE_BELOW) return;
    if (this.#size > 0 && this.#returns.length < MAX_RETURNS) this.#returns.push(buffer);
    else if (this.#spares.length < MAX_SPARES) this.#spares.push(buffer);
  }

  /**
   * A buffer of exactly `length` bytes whose contents are undefined, recycled when a spare one is
   * large enough: for reading a chunk object before {@link decode} (which transfers it to a
   * worker, whose reply brings it back as a spare).
   */
  buffer(length: number): Uint8Array {
    let at = -1;
    for (let i = 0; i < this.#spares.length; i++) {
      const len = this.#spares[i]!.byteLength;
      if (len >= length && len <= 2 * length && (at < 0 || len < this.#spares[at]!.byteLength)) at = i;
    }
    const buffer = at >= 0 ? this.#spares.splice(at, 1)[0]! : new ArrayBuffer(length);
    this.#lent.add(buffer);
    return new Uint8Array(buffer, 0, length);
  }

  /** A transferable copy of `data`, in a recycled buffer when one is large enough. */
  #copy(data: Uint8Array): Uint8Array {
    const out = this.buffer(data.byteLength);
    out.set(data);
    return out;
  }

  /**
   * The least busy ready worker, or undefined to code on the calling thread. Workers start in the
   * background on first use (loading their code takes a few hundred milliseconds); until one is
   * ready the caller codes inline, so a single small request never waits for a start-up.
   */
  #slot(): Slot | undefined {
    if (this.#broken || this.#size < 1) return undefined;
    if (this.#slots.length < this.#size) {
      try {
        while (this.#slots.length < this.#size) this.#start();
      } catch {
        // No worker threads here (a restricted runtime): code on the calling thread instead.
        this.#broken = true;
        return undefined;
      }
    }
    return this.#slots.reduce<Slot | undefined>((a, s) => (s.ready && (!a || s.busy < a.busy) ? s : a), undefined);
  }

  #start(): Slot {
    // Compiled (dist/), the worker body starts as it is; from the sources (run through tsx), the boot
    // file registers the TypeScript loader in the worker first (a worker does not inherit it).
    const entry = import.meta.url.endsWith('.ts') ? './codec-worker-boot.js' : './codec-worker.js';
    const worker = new Worker(new URL(entry, import.meta.url));
    const slot: Slot = { worker, busy: 0, ready: false };
    worker.on('message', (reply: CodecReply | 'ready') => {
      if (reply === 'ready') {
        slot.ready = true;
        return;
      }
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      this.#done(slot);
      if (reply.ok) for (const b of reply.spares ?? []) if (this.#spares.length < MAX_SPARES) this.#spares.push(b);
      if (reply.ok) p.resolve({ bytes: reply.bytes, hash: reply.hash });
      else p.reject(new EngramError(reply.error.code, reply.error.message, reply.error.data));
    });
    worker.on('error', (e) => this.#fail(slot, e));
    worker.on('exit', (code) => this.#fail(slot, new Error(`codec worker exited with code ${code}`)));
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    this.#slots.push(slot);
    return slot;
  }

  #send(slot: Slot, req: CodecRequest, transfer: ArrayBuffer[]): Promise<{ bytes: Uint8Array; hash?: string }> {
    return new Promise<{ bytes: Uint8Array; hash?: string }>((resolve, reject) => {
      this.#pending.set(req.id, { resolve, reject, slot });
      // A worker with work in hand keeps the process alive until it answers.
      if (slot.busy++ === 0) slot.worker.ref();
      const returns = this.#returns.splice(0, RETURNS_PER_REQUEST);
      slot.worker.postMessage(returns.length > 0 ? { ...req, returns } : req, [...transfer, ...returns]);
    });
  }

  #done(slot: Slot): void {
    if (--slot.busy === 0) slot.worker.unref();
  }

  /** A worker died: fail what it held and replace it on the next request. */
  #fail(slot: Slot, e: unknown): void {
    const i = this.#slots.indexOf(slot);
    if (i < 0) return;
    this.#slots.splice(i, 1);
    for (const [id, p] of this.#pending) {
      if (p.slot !== slot) continue;
      this.#pending.delete(id);
      p.reject(new EngramError('IOError', `codec worker failed: ${(e as Error)?.message ?? String(e)}`, {}, { cause: e }));
    }
  }

  /** True once every worker of the pool has started and loaded its code. */
  workersReady(): boolean {
    return this.#slots.length === this.#size && this.#slots.every((s) => s.ready);
  }

  /**
   * Starts the workers if they are not running and resolves once every one has loaded its code, or
   * rejects with the reason one could not: for callers that need requests to really cross a thread
   * (tests, benchmarks). Waits on the workers' own messages, not on a clock.
   */
  async whenReady(): Promise<void> {
    if (this.#size < 1) return;
    this.#slot();
    if (this.#broken) throw new EngramError('Unsupported', 'worker threads are not available in this runtime', {});
    await Promise.all(this.#slots.filter((s) => !s.ready).map((s) => new Promise<void>((resolve, reject) => {
      const done = (e?: EngramError): void => {
        s.worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        // Held while waited on (an idle worker is unref'd, and the process could end first).
        if (s.busy === 0) s.worker.unref();
        if (e) reject(e);
        else resolve();
      };
      const onMessage = (m: unknown): void => void (m === 'ready' && done());
      const onError = (e: Error): void => done(new EngramError('IOError', `codec worker failed to start: ${e.message}`, {}, { cause: e }));
      const onExit = (code: number): void => done(new EngramError('IOError', `codec worker exited with code ${code} before it was ready`, {}));
      s.worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      s.worker.ref();
    })));
  }

  /** Stops every worker. The pool starts new ones if used again. */
  async close(): Promise<void> {
    const slots = this.#slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
