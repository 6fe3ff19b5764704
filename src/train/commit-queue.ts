/**
 * @module The commits of one CheckpointManager, one at a time in save order: each checkpoint's
 * parent is the one committed (or restored) before it, so lineage follows the order of `save()`
 * calls even when several saves are in flight. A commit is the save, then the best tag, then
 * retention — on the commit thread when there is one (commit-thread.ts), else on this thread —
 * reported through the same events either way.
 */
import type { Repository, RetentionRule, Snapshot } from '../repo/index.ts';
import type { CheckpointEvent } from './checkpoint-event.ts';
import type { BestTagOptions, SaveCheckpointOptions } from './checkpoint-manager-options.ts';
import type { CommitRequest, CommitThread } from './commit-thread.ts';
import { tagBest } from './tag-best.ts';
import type { EncodedTrainingState } from './training-snapshot.ts';
import { UnchangedTensors } from './unchanged-tensors.ts';

/** What a {@link CommitQueue} commits with. */
export interface CommitQueueOptions {
  readonly thread: CommitThread | undefined;
  readonly best: BestTagOptions | undefined;
  readonly retention: readonly RetentionRule[];
  readonly emit: (event: CheckpointEvent) => void;
}

const noop = (): void => {};

/** Ordered commits of one run, and the lineage they build. */
export class CommitQueue {
  readonly #repo: Repository;
  readonly #run: string;
  readonly #o: CommitQueueOptions;
  /** Commits run one after another on this chain. */
  #chain: Promise<void> = Promise.resolve();
  /** The parent of the next checkpoint: the last one committed, or what the manager restored or rolled back to. */
  parent: string | undefined;
  /** The last checkpoint this queue committed. */
  lastCommitted: { readonly id: string; readonly step: number } | undefined;
  /** Small namespace tensors repeated from the parent are saved as `unchanged` (unchanged-tensors.ts). */
  readonly #unchanged: UnchangedTensors;

  constructor(repo: Repository, run: string, options: CommitQueueOptions) {
    this.#repo = repo;
    this.#run = run;
    this.#o = options;
    this.#unchanged = new UnchangedTensors(repo.config.smallThreshold);
  }

  /** Queues the commit of `step` behind the previous one; resolves with its snapshot. */
  enqueue(step: number, encoded: EncodedTrainingState, options: SaveCheckpointOptions): Promise<Snapshot> {
    const run = this.#chain.then(() => this.#commit(step, encoded, options));
    this.#chain = run.then(noop, noop);
    return run;
  }

  /** Resolves once every queued commit has settled (never rejects). */
  idle(): Promise<void> {
    return this.#chain;
  }

  /** What `Repository.save` is given for one checkpoint, on either thread. */
  #saveOptions(step: number, encoded: EncodedTrainingState, options: SaveCheckpointOptions, tensors: EncodedTrainingState['tensors']): CommitRequest['save'] {
    return {
      run: this.#run, step, parent: this.parent ?? undefined,
      tensors, blobs: encoded.blobs,
      meta: { ...(options.meta ?? {}), ...encoded.meta },
      metrics: options.metrics ?? {}, message: options.message ?? '',
      ...(options.tags ? { tags: options.tags } : {}),
    };
  }

  async #commit(step: number, encoded: EncodedTrainingState, options: SaveCheckpointOptions): Promise<Snapshot> {
    const { thread, best, retention, emit } = this.#o;
    const { tensors, digests } = this.#unchanged.mark(this.parent, encoded.tensors);
    if (thread) return this.#commitOnThread(thread, step, encoded, options, tensors, digests);
    const snap = await this.#repo.save(this.#saveOptions(step, encoded, options, tensors));
    this.#unchanged.committed(snap.id, digests);
    this.parent = snap.id;
    this.lastCommitted = { id: snap.id, step };
    emit({ type: 'committed', step, snapshot: snap.id, parent: snap.parent });
    if (best) {
      const event = await tagBest(this.#repo, this.#run, snap, best);
      if (event) emit(event);
    }
    if (retention.length > 0) {
      // The run's newest snapshot, its head and tagged snapshots are always kept (forget's guards).
      const result = await this.#repo.forget({ run: this.#run, rules: retention });
      if (result.forgotten.length > 0) emit({ type: 'retention', step, forgotten: result.forgotten });
    }
    return snap;
  }

  /** {@link #commit} on the commit thread: the same save, best tag and retention, reported the same way. */
  async #commitOnThread(
    thread: CommitThread, step: number, encoded: EncodedTrainingState, options: SaveCheckpointOptions,
    tensors: EncodedTrainingState['tensors'], digests: Map<string, string>,
  ): Promise<Snapshot> {
    const { best, retention, emit } = this.#o;
    const reply = await thread.commit({ save: this.#saveOptions(step, encoded, options, tensors), ...(best ? { best } : {}), retention });
    const id = reply.manifest.id;
    this.#unchanged.committed(id, digests);
    this.parent = id;
    this.lastCommitted = { id, step };
    emit({ type: 'committed', step, snapshot: id, parent: reply.manifest.parent });
    if (reply.best) emit(reply.best);
    if (reply.forgotten.length > 0) emit({ type: 'retention', step, forgotten: reply.forgotten });
    return this.#repo.adoptSnapshot(reply.manifest);
  }
}
