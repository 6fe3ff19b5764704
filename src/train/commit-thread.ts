/**
 * @module A thread that commits staged checkpoints. A training loop on the main thread yields to
 * the event loop rarely (TensorFlow.js's `trainOnBatch` on wasm never does), and a commit is a chain
 * of dozens of asynchronous steps (chunk writes, fsyncs, the manifest, tags, retention), each of
 * which waits for the next turn of the loop. On the main thread a commit therefore advances about
 * one step per training step and falls behind; on its own thread it runs at the disk's pace while
 * training continues. The staged buffers are SharedArrayBuffers, so handing them over copies nothing.
 */
import { stat } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { EngramError, type ErrorCode } from '../errors/index.ts';
import type { RetentionRule, SaveOptions, SnapshotManifest, TensorInput } from '../repo/index.ts';
import type { CheckpointEvent } from './checkpoint-event.ts';
import type { BestTagRule } from './tag-best.ts';

/** What the commit thread is asked to do: one save, then the best tag and retention. */
export interface CommitRequest {
  readonly id: number;
  /** Save options without callbacks (they cannot cross threads). */
  readonly save: Omit<SaveOptions, 'onProgress'> & { readonly run: string };
  readonly best?: BestTagRule;
  readonly retention: readonly RetentionRule[];
}

/** Where a staged tensor's bytes are: a range of a shared buffer the thread was sent before. */
export interface SharedRange {
  readonly buffer: number;
  readonly byteOffset: number;
  readonly byteLength: number;
}

/**
 * A request as posted: tensors backed by shared buffers name the buffer by number instead of
 * carrying it. Posting a SharedArrayBuffer costs far more on a busy main thread than posting a
 * number (tenths of a millisecond to milliseconds, per save, with a large TensorFlow.js heap), and
 * the staging buffers are the same from one save to the next, so each is sent once.
 */
export interface PostedCommit extends Omit<CommitRequest, 'save'> {
  readonly save: Omit<CommitRequest['save'], 'tensors'> & {
    readonly tensors?: Readonly<Record<string, Omit<TensorInput, 'data'> & { readonly data?: Uint8Array | SharedRange }>>;
  };
  /** Shared buffers the thread has not seen yet, by number. */
  readonly newBuffers: readonly (readonly [number, SharedArrayBuffer])[];
  /** Numbers of buffers the main thread has dropped: the thread forgets them too. */
  readonly dropped: readonly number[];
}

/** The commit thread's answer. */
export type CommitReply =
  | { readonly id: number; readonly ok: true; readonly manifest: SnapshotManifest; readonly best?: Extract<CheckpointEvent, { type: 'best' }>; readonly forgotten: readonly string[] }
  | { readonly id: number; readonly ok: false; readonly error: { readonly code: ErrorCode; readonly message: string; readonly data: Record<string, unknown> } };

const noop = (): void => {};

/** The thread's first message: it has opened the repository (or failed to). */
export interface CommitReady {
  readonly id: 0;
  readonly ok: boolean;
  readonly ready: true;
  readonly message?: string;
}

/** A worker thread holding its own handle on one fs repository. */
export class CommitThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (r: Extract<CommitReply, { ok: true }>) => void; reject: (e: unknown) => void }>();
  #nextId = 1;
  #dead: Error | undefined;
  readonly #ready: Promise<void>;
  #setReady: (error?: Error) => void = noop;
  readonly #bufferIds = new WeakMap<SharedArrayBuffer, number>();
  #nextBuffer = 1;
  #dropped: number[] = [];
  // A staging buffer the main thread lets go of (a model whose shapes changed) is let go of by the thread too.
  readonly #finalizer = new FinalizationRegistry<number>((n) => this.#dropped.push(n));

  /** Starts a thread for the repository at `location` (a directory path); `fsync: false` see FsStoreOptions. */
  constructor(location: string, options: { fsync?: boolean } = {}) {
    // libuv's thread pool starts with the first request any thread makes, and its threads inherit
    // that thread's priority: make sure it is this one, not the commit thread (which lowers its own).
    stat(location, noop);
    // Compiled (dist/), the thread's body starts as it is; from the sources (run through tsx), the boot
    // file registers the TypeScript loader in the thread first (a worker does not inherit it).
    const entry = import.meta.url.endsWith('.ts') ? './commit-worker-boot.js' : './commit-worker.js';
    this.#worker = new Worker(new URL(entry, import.meta.url), { workerData: { location, fsync: options.fsync ?? true } });
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#setReady = (error) => (error ? reject(error) : resolve());
    });
    // Observed here so that a thread nobody waits on never becomes an unhandled rejection.
    this.#ready.catch(noop);
    this.#worker.on('message', (reply: CommitReply | CommitReady) => {
      if ('ready' in reply) {
        this.#setReady(reply.ok ? undefined : new EngramError('IOError', `the checkpoint commit thread could not open the repository: ${reply.message}`, {}));
        return;
      }
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (reply.ok) p.resolve(reply);
      else p.reject(new EngramError(reply.error.code, reply.error.message, reply.error.data));
    });
    const die = (e: Error): void => {
      this.#dead ??= e;
      this.#setReady(new EngramError('IOError', `the checkpoint commit thread failed: ${e.message}`, {}, { cause: e }));
      for (const p of this.#pending.values()) p.reject(new EngramError('IOError', `the checkpoint commit thread failed: ${e.message}`, {}, { cause: e }));
      this.#pending.clear();
    };
    this.#worker.on('error', die);
    this.#worker.on('exit', (code) => die(new Error(`exited with code ${code}`)));
    // After the listeners (adding one refs the worker again): an idle thread never keeps a process alive.
    this.#worker.unref();
  }

  /** Resolves once the thread has started and opened the repository (a few hundred ms after construction). */
  ready(): Promise<void> {
    // Someone waits for the thread: keep the process alive until it answers.
    this.#worker.ref();
    return this.#ready.finally(() => {
      if (this.#pending.size === 0) this.#worker.unref();
    });
  }

  /** Commits one checkpoint; resolves once it is durable. */
  commit(request: Omit<CommitRequest, 'id'>): Promise<Extract<CommitReply, { ok: true }>> {
    if (this.#dead) return Promise.reject(new EngramError('IOError', `the checkpoint commit thread failed: ${this.#dead.message}`, {}, { cause: this.#dead }));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage(this.#posted(request, id));
    });
  }

  /** The request with shared buffers replaced by their numbers (see {@link PostedCommit}). */
  #posted(request: Omit<CommitRequest, 'id'>, id: number): PostedCommit {
    const newBuffers: [number, SharedArrayBuffer][] = [];
    let tensors: Record<string, Omit<TensorInput, 'data'> & { data?: Uint8Array | SharedRange }> | undefined;
    if (request.save.tensors) {
      tensors = {};
      for (const [name, t] of Object.entries(request.save.tensors)) {
        const buf = t.data?.buffer;
        if (!t.data || !(buf instanceof SharedArrayBuffer)) {
          tensors[name] = t;
          continue;
        }
        let n = this.#bufferIds.get(buf);
        if (n === undefined) {
          n = this.#nextBuffer++;
          this.#bufferIds.set(buf, n);
          this.#finalizer.register(buf, n);
          newBuffers.push([n, buf]);
        }
        tensors[name] = { ...t, data: { buffer: n, byteOffset: t.data.byteOffset, byteLength: t.data.byteLength } };
      }
    }
    const dropped = this.#dropped;
    this.#dropped = [];
    const { tensors: _t, ...save } = request.save;
    return { ...request, id, save: { ...save, ...(tensors ? { tensors } : {}) }, newBuffers, dropped };
  }

  /** Stops the thread (after the caller has waited for its commits). */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
