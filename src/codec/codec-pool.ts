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
import { decodeChain, type ChainLink } from './chain-decode.ts';
import { sha256Hex } from './hash.ts';
import { readChunkHeader } from './chunk-codec.ts';
import { SharedSlots, SLOT_BYTES } from './shared-slots.ts';
import { preloadZstd } from './zstd.ts';

/** Bytes held in a shared slot (shared-slots.ts): the slot's number and how many bytes from its start. */
export interface SlotRef {
  readonly slot: number;
  readonly length: number;
}

/** Bytes a message carries: moved with it (transferred), or left in a shared slot. */
export type CarriedBytes = Uint8Array | SlotRef;

/**
 * A request to a codec worker. `returns` are buffers the caller is done with (chunk objects it has
 * stored, raw chunks it has copied out), transferred back for the worker to code into next. `out`
 * is a shared slot for the result. A `slot` message registers a shared slot with the worker.
 */
export type CodecRequest =
  | ((
    | { readonly op: 'encode'; readonly id: number; readonly raw: CarriedBytes; readonly width: number; readonly level: number; readonly base?: { readonly hash: string; readonly bytes: CarriedBytes }; readonly hash?: boolean }
    | { readonly op: 'decode'; readonly id: number; readonly encoded: CarriedBytes; readonly expectedHash?: string; readonly base?: { readonly hash: string; readonly bytes: CarriedBytes } }
    | { readonly op: 'decode-chain'; readonly id: number; readonly links: readonly { readonly hash: string; readonly encoded: CarriedBytes }[]; readonly expectedHash: string; readonly base?: { readonly hash: string; readonly bytes: CarriedBytes } }
  ) & { readonly returns?: readonly ArrayBuffer[]; readonly out?: number })
  | { readonly op: 'slot'; readonly index: number; readonly buffer: SharedArrayBuffer };

/** A codec worker's reply. `spares` are the request's input buffers, for the caller's next copies. */
export type CodecReply =
  | { readonly id: number; readonly ok: true; readonly bytes: CarriedBytes; readonly spares?: readonly ArrayBuffer[]; readonly hash?: string }
  | { readonly id: number; readonly ok: false; readonly error: { readonly code: ErrorCode; readonly message: string; readonly data: Record<string, unknown> } };

/** Options of {@link CodecPool.encode} and {@link CodecPool.decode} that concern the result's memory. */
export interface LeaseOption {
  /**
   * true: the result may live in a shared slot, which the caller MUST give back with
   * {@link CodecPool.recycle} once done (and must not touch afterwards: the slot is written over).
   * Crossing threads in a slot spares the garbage collector the external memory of a moved buffer.
   * Default false: the result is the caller's to keep.
   */
  readonly lease?: boolean;
}

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
  readonly #pending = new Map<number, { resolve: (r: { bytes: CarriedBytes; hash?: string }) => void; reject: (e: unknown) => void; slot: Slot }>();
  /** Shared slots every worker knows, for results and inputs of leasing callers. */
  readonly #arena = new SharedSlots((index, buffer) => {
    for (const s of this.#slots) s.worker.postMessage({ op: 'slot', index, buffer } satisfies CodecRequest);
  });
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
  async encode(raw: Uint8Array, options: { width: number; level: number; base?: { hash: string; bytes: Uint8Array } } & LeaseOption): Promise<Uint8Array> {
    const slot = raw.byteLength < INLINE_BELOW ? undefined : this.#slot();
    if (!slot) return encodeChunk(raw, options);
    return (await this.#encodeOn(slot, raw, options, false)).bytes;
  }

  /** SHA-256 of `raw` and its {@link encodeChunk} encoding (no delta base), both on a worker. */
  async hashAndEncode(raw: Uint8Array, options: { width: number; level: number } & LeaseOption): Promise<{ hash: string; encoded: Uint8Array }> {
    const slot = raw.byteLength < INLINE_BELOW ? undefined : this.#slot();
    if (!slot) return { hash: sha256Hex(raw), encoded: await encodeChunk(raw, options) };
    const reply = await this.#encodeOn(slot, raw, options, true);
    if (reply.hash === undefined) throw new EngramError('IOError', 'codec worker did not return a hash');
    return { hash: reply.hash, encoded: reply.bytes };
  }

  /** An encode request on worker `slot`: in shared slots for a leasing caller when enough are free, else with moved copies. */
  async #encodeOn(slot: Slot, raw: Uint8Array, options: { width: number; level: number; base?: { hash: string; bytes: Uint8Array } } & LeaseOption, hash: boolean): Promise<{ bytes: Uint8Array; hash?: string }> {
    const base = options.base;
    const fields = { op: 'encode' as const, width: options.width, level: options.level, hash };
    if (options.lease && this.#fits(raw.byteLength, base ? 3 : 2)) return this.#encodeShared(slot, raw, fields, base);
    const input = this.#copy(raw);
    const baseCopy = base && this.#copy(base.bytes);
    const req: CodecRequest = { ...fields, id: this.#nextId++, raw: input, base: base && baseCopy && { hash: base.hash, bytes: baseCopy } };
    const reply = await this.#send(slot, req, [input.buffer as ArrayBuffer, ...(baseCopy ? [baseCopy.buffer as ArrayBuffer] : [])]);
    return { bytes: this.#own(reply.bytes), hash: reply.hash };
  }

  /**
   * {@link decodeChunk} on a worker: decodes, undoes a delta against `base` (the verified raw bytes
   * of the chunk the header names) and checks `expectedHash`. `encoded` is transferred (or, if it is
   * a leased buffer from {@link buffer}, taken over): the caller must not use it afterwards.
   */
  async decode(encoded: Uint8Array, options: { expectedHash?: string; base?: { hash: string; bytes: Uint8Array } } & LeaseOption): Promise<Uint8Array> {
    const slot = encoded.byteLength < INLINE_BELOW ? undefined : this.#slot();
    const base = options.base;
    const inSlot = this.#arena.slotOf(encoded);
    if (slot && options.lease && readChunkHeader(encoded).rawLength <= SLOT_BYTES && this.#fits(encoded.byteLength, (inSlot === undefined ? 1 : 0) + 1 + (base ? 1 : 0))) {
      return this.#decodeShared(slot, encoded, options.expectedHash, base);
    }
    // No slot for it: a leased input becomes an ordinary buffer again, and its slot is free.
    const input = inSlot === undefined ? encoded : encoded.slice();
    if (inSlot !== undefined) this.#arena.giveBack(encoded);
    if (!slot) {
      return decodeChunk(input, { expectedHash: options.expectedHash, getBase: base ? async () => base.bytes : undefined });
    }
    const whole = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength && !(input.buffer instanceof SharedArrayBuffer);
    const own = whole || this.#lent.has(input.buffer as ArrayBuffer) ? input : input.slice();
    const baseCopy = base && this.#copy(base.bytes);
    const req: CodecRequest = { op: 'decode', id: this.#nextId++, encoded: own, expectedHash: options.expectedHash, base: base && baseCopy && { hash: base.hash, bytes: baseCopy } };
    return this.#own((await this.#send(slot, req, [own.buffer as ArrayBuffer, ...(baseCopy ? [baseCopy.buffer as ArrayBuffer] : [])])).bytes);
  }

  /**
   * {@link decodeChain} on one worker: a whole delta chain (`links[0]` the chunk wanted, each next
   * link its base, the last a keyframe or a delta against `base`) in one request, only the result
   * re-hashed. Every link's object is taken over, as {@link decode}'s `encoded` is.
   */
  async decodeChain(links: readonly ChainLink[], options: { expectedHash: string; base?: { hash: string; bytes: Uint8Array } } & LeaseOption): Promise<Uint8Array> {
    const rawLength = readChunkHeader(links[0]!.encoded).rawLength;
    const slot = rawLength < INLINE_BELOW ? undefined : this.#slot();
    const base = options.base;
    const unslotted = links.filter((l) => this.#arena.slotOf(l.encoded) === undefined);
    if (slot && options.lease && rawLength <= SLOT_BYTES && links.every((l) => l.encoded.byteLength + 64 <= SLOT_BYTES) && this.#arena.available() >= unslotted.length + 1 + (base ? 1 : 0)) {
      const inputs = links.map((l) => this.#arena.claim(l.encoded) ?? this.#slotted(l.encoded));
      const reply = await this.#sendShared(slot, inputs, base, (out, baseRef) => ({
        op: 'decode-chain', id: this.#nextId++, expectedHash: options.expectedHash, out, base: baseRef,
        links: links.map((l, i) => ({ hash: l.hash, encoded: { slot: inputs[i]!, length: l.encoded.byteLength } })),
      }));
      return reply.bytes;
    }
    // No slots for it: leased inputs become ordinary buffers again, their slots free.
    const own = links.map((l) => {
      if (this.#arena.slotOf(l.encoded) === undefined) return l;
      const copy = l.encoded.slice();
      this.#arena.giveBack(l.encoded);
      return { hash: l.hash, encoded: copy };
    });
    if (!slot) return decodeChain(own, { expectedHash: options.expectedHash, base });
    const moved = own.map((l) => ({ hash: l.hash, encoded: l.encoded.byteOffset === 0 && l.encoded.byteLength === l.encoded.buffer.byteLength && !(l.encoded.buffer instanceof SharedArrayBuffer) ? l.encoded : l.encoded.slice() }));
    const baseCopy = base && this.#copy(base.bytes);
    const req: CodecRequest = { op: 'decode-chain', id: this.#nextId++, expectedHash: options.expectedHash, links: moved, base: base && baseCopy && { hash: base.hash, bytes: baseCopy } };
    return this.#own((await this.#send(slot, req, [...moved.map((l) => l.encoded.buffer as ArrayBuffer), ...(baseCopy ? [baseCopy.buffer as ArrayBuffer] : [])])).bytes);
  }

  /** Whether `bytes` (and a chunk object's header) fit a slot and `count` slots are free. */
  #fits(bytes: number, count: number): boolean {
    return bytes + 64 <= SLOT_BYTES && this.#arena.available() >= count;
  }

  /** A shared slot holding a copy of `data`. */
  #slotted(data: Uint8Array): number {
    const index = this.#arena.take()!;
    new Uint8Array(this.#arena.buffers[index]!, 0, data.byteLength).set(data);
    return index;
  }

  /** A reply's bytes as the caller's: a moved buffer as is; a slot (not asked for) copied out and freed. */
  #own(bytes: CarriedBytes): Uint8Array {
    if (bytes instanceof Uint8Array) return bytes;
    const copy = new Uint8Array(this.#arena.buffers[bytes.slot]!, 0, bytes.length).slice();
    this.#arena.release(bytes.slot);
    return copy;
  }

  /** The result of a request that wrote into slot `out`, leased to the caller. */
  #leased(bytes: CarriedBytes, out: number): Uint8Array {
    if (bytes instanceof Uint8Array) {
      // The result did not fit the slot: it came as a moved buffer.
      this.#arena.release(out);
      return bytes;
    }
    return this.#arena.lease(out, bytes.length);
  }

  async #encodeShared(slot: Slot, raw: Uint8Array, fields: { op: 'encode'; width: number; level: number; hash?: boolean }, base: { hash: string; bytes: Uint8Array } | undefined): Promise<{ bytes: Uint8Array; hash?: string }> {
    const rawSlot = this.#slotted(raw);
    return this.#sendShared(slot, [rawSlot], base, (out, baseRef) => ({ ...fields, id: this.#nextId++, raw: { slot: rawSlot, length: raw.byteLength }, out, base: baseRef }));
  }

  async #decodeShared(slot: Slot, encoded: Uint8Array, expectedHash: string | undefined, base: { hash: string; bytes: Uint8Array } | undefined): Promise<Uint8Array> {
    const inSlot = this.#arena.claim(encoded) ?? this.#slotted(encoded);
    const reply = await this.#sendShared(slot, [inSlot], base, (out, baseRef) => ({ op: 'decode', id: this.#nextId++, encoded: { slot: inSlot, length: encoded.byteLength }, expectedHash, out, base: baseRef }));
    return reply.bytes;
  }

  /**
   * Sends the request `make` builds (given the output slot and the base, copied into a slot) whose
   * inputs are in slots `inputs`; frees the input and base slots once the worker has answered (or died:
   * either way it reads them no more), the output slot too on failure, and leases the result.
   */
  async #sendShared(slot: Slot, inputs: readonly number[], base: { hash: string; bytes: Uint8Array } | undefined, make: (out: number, base: { hash: string; bytes: SlotRef } | undefined) => CodecRequest & { id: number }): Promise<{ bytes: Uint8Array; hash?: string }> {
    const baseSlot = base ? this.#slotted(base.bytes) : undefined;
    const out = this.#arena.take()!;
    const req = make(out, base && baseSlot !== undefined ? { hash: base.hash, bytes: { slot: baseSlot, length: base.bytes.byteLength } } : undefined);
    let reply: { bytes: CarriedBytes; hash?: string };
    try {
      reply = await this.#send(slot, req, []);
    } catch (e) {
      this.#arena.release(out);
      throw e;
    } finally {
      for (const i of inputs) this.#arena.release(i);
      if (baseSlot !== undefined) this.#arena.release(baseSlot);
    }
    return { bytes: this.#leased(reply.bytes, out), hash: reply.hash };
  }

  /**
   * `bytes` as memory of the caller's own: a leased result (see {@link LeaseOption}) is copied out
   * and its slot given back; anything else is returned as is.
   */
  unlease(bytes: Uint8Array): Uint8Array {
    if (this.#arena.slotOf(bytes) === undefined) return bytes;
    const copy = bytes.slice();
    this.#arena.giveBack(bytes);
    return copy;
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
    if (this.#arena.giveBack(bytes)) return;
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
  buffer(length: number, options: LeaseOption = {}): Uint8Array {
    if (options.lease && length <= SLOT_BYTES && this.#arena.available() > 2) {
      // Leaves two slots, so that a decode of it finds its output slot.
      return this.#arena.lease(this.#arena.take()!, length);
    }
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
      // Before the workers get busy (see preloadZstd).
      if (this.#slots.length === 0) preloadZstd();
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
    // Messages arrive in order: the worker knows every slot before any request names one.
    this.#arena.buffers.forEach((buffer, index) => worker.postMessage({ op: 'slot', index, buffer } satisfies CodecRequest));
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

  #send(slot: Slot, req: CodecRequest & { id: number }, transfer: ArrayBuffer[]): Promise<{ bytes: CarriedBytes; hash?: string }> {
    return new Promise<{ bytes: CarriedBytes; hash?: string }>((resolve, reject) => {
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
