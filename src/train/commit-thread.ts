/**
 * @module A thread that commits staged checkpoints. A training loop on the main thread yields to
 * the event loop rarely (TensorFlow.js's `trainOnBatch` on wasm never does), and a commit is a chain
 * of dozens of asynchronous steps (chunk writes, fsyncs, the manifest, tags, retention), each of
 * which waits for the next turn of the loop. On the main thread a commit therefore advances about
 * one step per training step and falls behind; on its own thread it runs at the disk's pace while
 * training continues. The staged buffers are SharedArrayBuffers, so handing them over copies nothing.
 */
import { Worker } from 'node:worker_threads';
import { EngramError, type ErrorCode } from '../errors/index.ts';
import type { RetentionRule, SaveOptions, SnapshotManifest } from '../repo/index.ts';
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

/** The commit thread's answer. */
export type CommitReply =
  | { readonly id: number; readonly ok: true; readonly manifest: SnapshotManifest; readonly best?: Extract<CheckpointEvent, { type: 'best' }>; readonly forgotten: readonly string[] }
  | { readonly id: number; readonly ok: false; readonly error: { readonly code: ErrorCode; readonly message: string; readonly data: Record<string, unknown> } };

/** A worker thread holding its own handle on one fs repository. */
export class CommitThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (r: Extract<CommitReply, { ok: true }>) => void; reject: (e: unknown) => void }>();
  #nextId = 1;
  #dead: Error | undefined;

  /** Starts a thread for the repository at `location` (a directory path). */
  constructor(location: string) {
    this.#worker = new Worker(new URL('./commit-worker-boot.js', import.meta.url), { workerData: { location } });
    this.#worker.on('message', (reply: CommitReply) => {
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (reply.ok) p.resolve(reply);
      else p.reject(new EngramError(reply.error.code, reply.error.message, reply.error.data));
    });
    const die = (e: Error): void => {
      this.#dead ??= e;
      for (const p of this.#pending.values()) p.reject(new EngramError('IOError', `the checkpoint commit thread failed: ${e.message}`, {}, { cause: e }));
      this.#pending.clear();
    };
    this.#worker.on('error', die);
    this.#worker.on('exit', (code) => die(new Error(`exited with code ${code}`)));
    // After the listeners (adding one refs the worker again): an idle thread never keeps a process alive.
    this.#worker.unref();
  }

  /** Commits one checkpoint; resolves once it is durable. */
  commit(request: Omit<CommitRequest, 'id'>): Promise<Extract<CommitReply, { ok: true }>> {
    if (this.#dead) return Promise.reject(new EngramError('IOError', `the checkpoint commit thread failed: ${this.#dead.message}`, {}, { cause: this.#dead }));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage({ ...request, id } satisfies CommitRequest);
    });
  }

  /** Stops the thread (after the caller has waited for its commits). */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
