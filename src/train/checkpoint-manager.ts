/**
 * @module CheckpointManager: when to save (policies), saving without stopping training (two-stage
 * asynchronous saves, as PyTorch DCP's `async_save`), what to keep (retention), the best checkpoint
 * by a metric, resume, rollback, a promotion guard and preemption.
 *
 * An asynchronous save has two stages. `save()` resolves once the state is *staged*: every tensor
 * copied into the manager's own buffers and the small state serialised, synchronously, so the
 * staged copy is exactly the state at the step it names whatever the loop does next. The commit
 * (chunks, manifest, best tag, retention) then runs in the background; the handle's `durable`
 * promise settles when it is done. Commits run one at a time in save order, so each checkpoint's
 * parent is the one saved before it. At most `maxInFlight` saves are staged or committing; a
 * further `save()` waits for one to finish before it stages (backpressure), which also bounds the
 * staging memory to `maxInFlight` copies of the state, reused from save to save.
 */
import { constants as osConstants } from 'node:os';
import { EngramError, isEngramError } from '../errors/index.ts';
import { checkRunName, defaultMetricMode, systemClock, type Clock, type RefEvent, type Repository, type RetentionRule, type Snapshot } from '../repo/index.ts';
import type { JsonValue } from '../tensor/index.ts';
import type { CheckpointEvent } from './checkpoint-event.ts';
import { guardPromotion, type PromotionFinding, type PromotionGuardOptions } from './promotion-guard.ts';
import { checkSavePolicies, decideSave, type SavePolicy } from './save-policy.ts';
import { StagingPool } from './staging-pool.ts';
import { tagBest } from './tag-best.ts';
import { CommitThread } from './commit-thread.ts';
import { encodeTrainingState, readTrainingState, type EncodedTrainingState, type RestoreInto } from './training-snapshot.ts';
import type { RestoredTrainingState, TrainingState } from './training-state.ts';

/** Tag the best checkpoint by a metric as the run goes. */
export interface BestTagOptions {
  readonly metric: string;
  /** Which way is better; default from the metric's name (losses and errors are minimised). */
  readonly mode?: 'min' | 'max';
  /** The tag to move (default `best`). Tags are repository-wide: use e.g. `<run>.best` when several runs share a repository. */
  readonly tag?: string;
}

/** Options of {@link CheckpointManager}. */
export interface CheckpointManagerOptions {
  /** The run every checkpoint belongs to. */
  readonly run: string;
  /** When `save()` writes; several compose by "any". Default: every call (`every-steps` 1). */
  readonly policies?: SavePolicy | readonly SavePolicy[];
  /**
   * Keep rules applied to this run after each committed save, through `Repository.forget`. The
   * run's newest snapshot, its head and every tagged snapshot are always kept.
   */
  readonly retention?: readonly RetentionRule[];
  /** Saves staged or committing at once (default 1). */
  readonly maxInFlight?: number;
  /** Two-stage asynchronous saves (default true); false makes `save()` resolve only once committed. */
  readonly async?: boolean;
  /**
   * Commit asynchronous saves on a thread of their own (default: true for a repository in a local
   * directory). A training loop that rarely yields to the event loop would otherwise starve the
   * commit, which is a long chain of asynchronous I/O steps; see commit-thread.ts.
   */
  readonly commitThread?: boolean;
  /**
   * false: commits on the commit thread are not fsynced. A checkpoint then survives a crash of the
   * training process (SIGKILL, OOM) but maybe not of the machine, as with torch.save or PyTorch DCP.
   * On this project's VMs each fsync also slows the other core's work, which is most of what
   * frequent checkpoints cost training (docs/BENCHMARKS.md "Training overhead"). Default true.
   */
  readonly fsync?: boolean;
  /** Move a tag onto each new best checkpoint by a metric. */
  readonly best?: BestTagOptions;
  /** Receives every event, including `error` for a failed background save. */
  readonly onEvent?: (event: CheckpointEvent) => void;
  /** For the `every-seconds` policy (tests pass a fake one). */
  readonly clock?: Clock;
}

/** Options of {@link CheckpointManager.save}. */
export interface SaveCheckpointOptions {
  /** Metrics of this step, recorded on the snapshot (and seen by policies and the best tag). */
  readonly metrics?: Readonly<Record<string, number>>;
  /** Save whatever the policies say. */
  readonly force?: boolean;
  readonly message?: string;
  /** Extra snapshot metadata (the key `train` is the manager's). */
  readonly meta?: Readonly<Record<string, JsonValue>>;
  /** Tags to point at the snapshot once committed. */
  readonly tags?: readonly string[];
}

/** What {@link CheckpointManager.save} returns. */
export interface CheckpointHandle {
  readonly step: number;
  /** False when no policy asked for this step (nothing was staged). */
  readonly saved: boolean;
  /** The policy that decided, or why nothing was saved. */
  readonly reason: string;
  /**
   * Settles when the checkpoint is committed: the snapshot, or undefined when nothing was saved.
   * It may reject; a rejection is also reported as an `error` event and thrown by the next
   * `save()`/`wait()`/`close()`, so leaving it unobserved loses nothing.
   */
  readonly durable: Promise<Snapshot | undefined>;
}

/** Which checkpoint {@link CheckpointManager.restore} reads. */
export type RestoreTarget =
  | 'latest'
  | { readonly step: number }
  | { readonly ref: string }
  | { readonly best: string; readonly mode?: 'min' | 'max' };

/** The final checkpoint a preemption handler writes. */
export interface FinalCheckpoint {
  readonly step: number;
  readonly state: TrainingState;
  readonly metrics?: Readonly<Record<string, number>>;
}

/** What a preemption handler reports when it is done. */
export interface PreemptionOutcome {
  readonly signal: NodeJS.Signals;
  /** 128 + the signal number: what the process exits with by default (143 for SIGTERM). */
  readonly exitCode: number;
  /** The final checkpoint (an earlier save of the same step when there was one). */
  readonly snapshot?: Snapshot;
  /** Why the final checkpoint could not be written, if it could not. */
  readonly error?: unknown;
}

/** Options of {@link CheckpointManager.handlePreemption}. */
export interface PreemptionOptions {
  /** Default SIGTERM and SIGINT. */
  readonly signals?: readonly NodeJS.Signals[];
  /** The state to write as the final checkpoint, read once the in-flight saves have finished. */
  readonly finalState: () => FinalCheckpoint | Promise<FinalCheckpoint>;
  /** Called instead of `process.exit(128 + signo)` once the final checkpoint is written (or failed). */
  readonly onExit?: (outcome: PreemptionOutcome) => void | Promise<void>;
}

interface InFlight {
  readonly step: number;
  /** Resolves (never rejects) once the save is settled and removed from the in-flight list. */
  readonly settled: Promise<void>;
}

const noop = (): void => {};

/**
 * Saves a training run's checkpoints into a repository and restores them.
 *
 * @example
 * const manager = new CheckpointManager(repo, {
 *   run: 'mlp', policies: [{ kind: 'every-steps', n: 100 }, { kind: 'every-seconds', seconds: 600 }],
 *   retention: [{ kind: 'last', n: 3 }], best: { metric: 'val_loss' },
 *   onEvent: (e) => e.type === 'error' && console.error(e.error),
 * });
 * const resumed = (await manager.latestStep()) !== undefined ? await manager.restore('latest', { into: { model: weights } }) : undefined;
 * for (let step = (resumed?.step ?? 0) + 1; step <= total; step++) {
 *   trainStep();
 *   await manager.save(step, state(), { metrics: { loss } });   // returns once staged
 * }
 * await manager.close();                                        // waits until every save is committed
 */
export class CheckpointManager {
  /** The repository checkpoints go to (the caller's: the manager never closes it). */
  readonly repo: Repository;
  /** The run every checkpoint belongs to. */
  readonly run: string;
  readonly #policies: readonly SavePolicy[];
  readonly #retention: readonly RetentionRule[];
  readonly #maxInFlight: number;
  readonly #async: boolean;
  readonly #best: BestTagOptions | undefined;
  readonly #onEvent: ((event: CheckpointEvent) => void) | undefined;
  readonly #clock: Clock;
  readonly #pool: StagingPool;
  readonly #thread: CommitThread | undefined;
  #inFlight: InFlight[] = [];
  /** Commits run one after another on this chain, so lineage follows save order. */
  #chain: Promise<void> = Promise.resolve();
  #pending: { step: number | undefined; error: unknown } | undefined;
  #lastSavedStep: number | undefined;
  #lastSaveTime: number;
  /** The parent of the next checkpoint: the last one committed or restored by this manager. */
  #parent: string | undefined;
  #lastCommitted: { id: string; step: number } | undefined;
  #closed = false;
  #stopPreemption: (() => void) | undefined;
  /** Set while a preemption is being handled; resolves when it is done. */
  #preempting: Promise<void> | undefined;

  constructor(repo: Repository, options: CheckpointManagerOptions) {
    this.repo = repo;
    this.run = checkRunName(options.run);
    const policies = options.policies === undefined ? [{ kind: 'every-steps', n: 1 } as const]
      : Array.isArray(options.policies) ? options.policies : [options.policies as SavePolicy];
    checkSavePolicies(policies);
    this.#policies = [...policies];
    this.#retention = [...(options.retention ?? [])];
    const maxInFlight = options.maxInFlight ?? 1;
    if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) throw new EngramError('InvalidArgument', `maxInFlight must be a positive integer, got ${maxInFlight}`, { maxInFlight });
    this.#maxInFlight = maxInFlight;
    this.#async = options.async ?? true;
    const dir = repo.localDirectory;
    const threaded = this.#async && dir !== undefined && (options.commitThread ?? true);
    this.#thread = threaded ? new CommitThread(dir, { fsync: options.fsync }) : undefined;
    // Staged buffers are shared with the commit thread rather than copied to it.
    this.#pool = new StagingPool(threaded);
    if (options.best && options.best.metric === '') throw new EngramError('InvalidArgument', 'best needs a metric name');
    this.#best = options.best;
    this.#onEvent = options.onEvent;
    this.#clock = options.clock ?? systemClock;
    this.#lastSaveTime = this.#clock.now();
  }

  /** Saves staged or committing right now. */
  get inFlight(): number {
    return this.#inFlight.length;
  }

  /** True once a preemption signal has arrived. A loop that handles `onExit` itself should stop then. */
  get preempted(): boolean {
    return this.#preempting !== undefined;
  }

  /**
   * Saves the state of `step` if a policy (or `force`) asks for it. Asynchronous mode resolves once
   * the state is staged — the caller may then change its buffers — and `durable` settles when the
   * checkpoint is committed; synchronous mode resolves once committed. Throws first the error of
   * any earlier background save that failed since the last call reported one.
   */
  async save(step: number, state: TrainingState, options: SaveCheckpointOptions = {}): Promise<CheckpointHandle> {
    this.#checkOpen();
    if (this.#stopPreemption || this.#preempting) {
      // Signals arrive as event-loop callbacks, which a loop that only awaits microtasks never
      // lets run: yield once, so a pending SIGTERM is handled at this step boundary.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#preempting) return this.#parked(step);
    }
    this.#throwPending();
    if (!Number.isSafeInteger(step) || step < 0) throw new EngramError('InvalidArgument', `step must be a non-negative integer, got ${step}`, { step });
    const metrics = options.metrics ?? {};
    const decision = options.force ? { save: true, reason: 'forced' } : decideSave(this.#policies, {
      step, lastSavedStep: this.#lastSavedStep, secondsSinceLastSave: (this.#clock.now() - this.#lastSaveTime) / 1000, metrics,
    });
    if (!decision.save) return { step, saved: false, reason: decision.reason, durable: Promise.resolve(undefined) };

    if (!this.#async) {
      // The caller waits for the commit (training is paused), so its own buffers are saved without a copy.
      const encoded = encodeTrainingState(state);
      this.#noteSaved(step);
      try {
        const snap = await this.#enqueue(step, encoded, options);
        return { step, saved: true, reason: decision.reason, durable: Promise.resolve(snap) };
      } catch (e) {
        this.#emit({ type: 'error', step, error: e });
        throw e;
      }
    }

    if (this.#inFlight.length >= this.#maxInFlight) {
      this.#emit({ type: 'backpressure', step, inFlight: this.#inFlight.length });
      while (this.#inFlight.length >= this.#maxInFlight) await Promise.race(this.#inFlight.map((f) => f.settled));
      if (this.#preempting) return this.#parked(step);
      this.#throwPending();
    }
    // Staging is synchronous from here to the end of encodeTrainingState: no other code (and so no
    // training step) can run in between, which is what makes the copy exactly one step's state.
    const set = this.#pool.acquire();
    let encoded: EncodedTrainingState;
    const names = new Set<string>();
    try {
      encoded = encodeTrainingState(state, (name, data) => {
        names.add(name);
        return set.copy(name, data);
      });
    } catch (e) {
      this.#pool.release(set);
      throw e;
    }
    set.retain(names);
    this.#noteSaved(step);
    const durable = this.#enqueue(step, encoded, options).finally(() => this.#pool.release(set));
    // Handled here, so an unobserved `durable` never becomes an unhandled rejection.
    durable.catch((e: unknown) => this.#fail(step, e));
    const entry: InFlight = {
      step,
      settled: durable.then(noop, noop).then(() => {
        this.#inFlight = this.#inFlight.filter((f) => f !== entry);
      }),
    };
    this.#inFlight.push(entry);
    this.#emit({ type: 'staged', step, bytes: encoded.bytes, allocatedBytes: set.allocatedBytes, inFlight: this.#inFlight.length });
    return { step, saved: true, reason: decision.reason, durable };
  }

  /**
   * Resolves once the manager can commit without start-up delay: for a local repository in
   * asynchronous mode, once its commit thread has started and opened the repository (a one-time
   * cost of a few hundred milliseconds, mostly loading code). Saving before that is allowed; the
   * first commits then wait for the thread, and with saves every few steps that can put the first
   * saves under backpressure. Rejects when the thread cannot start.
   */
  async ready(): Promise<void> {
    await this.#thread?.ready();
  }

  /** Waits until every save in flight is committed; throws the error of one that failed. */
  async wait(): Promise<void> {
    await this.#drain();
    this.#throwPending();
  }

  /**
   * Waits for every save in flight, stops handling preemption and refuses further saves. Throws the
   * error of a save that failed and was not reported yet. The repository stays open (it is the
   * caller's).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#drain();
    this.#stopPreemption?.();
    await this.#thread?.close();
    this.#throwPending();
  }

  /** The step of the run's head (`run@latest`), or undefined when the run has no checkpoint yet. */
  async latestStep(): Promise<number | undefined> {
    await this.#drain();
    try {
      return (await this.repo.manifest(await this.repo.resolve(`${this.run}@latest`))).step;
    } catch (e) {
      if (isEngramError(e, 'NotFound')) return undefined;
      throw e;
    }
  }

  /**
   * Reads a checkpoint's training state (after the saves in flight are committed) and continues the
   * run from it: the next checkpoint's parent is this one, and step policies count from its step.
   * `into` loads into the caller's buffers after checking that names, order, dtypes and shapes match
   * (`InvalidArgument` says what differs). `NotFound` when there is no such checkpoint.
   *
   * @example
   * const s = await manager.restore('latest', { into: { model: weights, optimizer: adam.slots } });
   * rng.setState(s.rng!.dropout!); data.seek(s.data!);
   */
  async restore(target: RestoreTarget = 'latest', options: { readonly into?: RestoreInto } = {}): Promise<RestoredTrainingState> {
    this.#checkOpen();
    await this.#drain();
    const ref = target === 'latest' ? `${this.run}@latest`
      : 'step' in target ? `${this.run}@${target.step}`
        : 'ref' in target ? target.ref
          : `${this.run}@best:${target.mode ?? defaultMetricMode(target.best)}:${target.best}`;
    const snap = await this.repo.snapshot(ref);
    const state = await readTrainingState(snap, options.into);
    this.#parent = snap.id;
    this.#lastSavedStep = snap.step;
    this.#lastSaveTime = this.#clock.now();
    this.#emit({ type: 'restored', step: snap.step, snapshot: snap.id });
    return state;
  }

  /**
   * Rolls the run back: the checkpoint `ref` names becomes the run's head (`run@latest`) and the
   * parent of the next save, as a new head event; nothing is deleted. Restore it to continue from it.
   *
   * @example
   * await manager.rollback('tag:best', 'val_loss diverged');
   * const state = await manager.restore('latest', { into: { model: weights } });
   */
  async rollback(ref: string, message = ''): Promise<RefEvent> {
    this.#checkOpen();
    await this.#drain();
    const event = await this.repo.rollback(this.run, ref, message);
    this.#parent = event.target ?? undefined;
    this.#emit({ type: 'rollback', event });
    return event;
  }

  /**
   * Moves `tag` onto a checkpoint (default: the last one this manager committed, else the run's
   * head) unless its metric regresses beyond the tolerance. Returns the finding — a refusal is a
   * value, not an error — and reports it as a `promotion` event.
   *
   * @example
   * const f = await manager.guardPromotion({ tag: 'prod', metric: 'val_loss', tolerance: 0.01 });
   * if (!f.promoted) alert(f.message);
   */
  async guardPromotion(options: Omit<PromotionGuardOptions, 'candidate'> & { readonly candidate?: string }): Promise<PromotionFinding> {
    await this.#drain();
    const candidate = options.candidate ?? this.#lastCommitted?.id ?? `${this.run}@latest`;
    const finding = await guardPromotion(this.repo, { ...options, candidate });
    this.#emit({ type: 'promotion', finding });
    return finding;
  }

  /**
   * Handles preemption (opt-in): on one of `signals`, waits for the saves in flight, writes the
   * final checkpoint from `finalState()` (unless that step is already committed) and exits with
   * 128 + the signal number — or calls `onExit` instead. `save()` calls made meanwhile stay parked
   * until it is done, so the loop does not run ahead of the state being saved. A second signal
   * exits at once. Returns a function that stops handling.
   *
   * @example
   * manager.handlePreemption({ finalState: () => ({ step, state: state() }) });
   */
  handlePreemption(options: PreemptionOptions): () => void {
    this.#checkOpen();
    if (this.#stopPreemption) throw new EngramError('InvalidArgument', 'this manager already handles preemption');
    if (typeof options?.finalState !== 'function') throw new EngramError('InvalidArgument', 'handlePreemption needs finalState: () => ({ step, state })');
    const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
    for (const s of signals) {
      if (typeof osConstants.signals[s] !== 'number') throw new EngramError('InvalidArgument', `unknown signal ${String(s)}`, { signal: s });
    }
    const handler = (signal: NodeJS.Signals): void => void this.#onSignal(signal, options);
    for (const s of signals) process.on(s, handler);
    const stop = (): void => {
      for (const s of signals) process.off(s, handler);
      if (this.#stopPreemption === stop) this.#stopPreemption = undefined;
    };
    this.#stopPreemption = stop;
    return stop;
  }

  async #onSignal(signal: NodeJS.Signals, options: PreemptionOptions): Promise<void> {
    const exitCode = 128 + (osConstants.signals[signal] ?? 0);
    if (this.#preempting) {
      // A second signal: the user (or the scheduler) will not wait any longer.
      if (!options.onExit) process.exit(exitCode);
      return;
    }
    let done = noop;
    this.#preempting = new Promise<void>((resolve) => (done = resolve));
    this.#emit({ type: 'preempted', signal });
    let snapshot: Snapshot | undefined;
    let error: unknown;
    let step: number | undefined;
    try {
      await this.#drain();
      const final = await options.finalState();
      step = final.step;
      if (this.#lastCommitted?.step === final.step) {
        snapshot = await this.repo.snapshot(this.#lastCommitted.id);
      } else {
        const encoded = encodeTrainingState(final.state);
        this.#noteSaved(final.step);
        snapshot = await this.#enqueue(final.step, encoded, { metrics: final.metrics ?? {}, message: `final checkpoint on ${signal}` });
      }
    } catch (e) {
      error = e;
      this.#emit({ type: 'error', ...(step !== undefined ? { step } : {}), error: e });
    }
    this.#stopPreemption?.();
    done();
    if (options.onExit) {
      await options.onExit({ signal, exitCode, ...(snapshot ? { snapshot } : {}), ...(error !== undefined ? { error } : {}) });
      return;
    }
    if (error !== undefined) process.stderr.write(`engram: the final checkpoint on ${signal} failed: ${(error as Error)?.message ?? String(error)}\n`);
    process.exit(exitCode);
  }

  /** A save() during preemption: the handler writes the final checkpoint; the loop waits here meanwhile. */
  async #parked(step: number): Promise<CheckpointHandle> {
    await this.#preempting;
    return { step, saved: false, reason: 'preempted: the preemption handler wrote the final checkpoint', durable: Promise.resolve(undefined) };
  }

  #checkOpen(): void {
    if (this.#closed) throw new EngramError('InvalidArgument', `the CheckpointManager of run ${this.run} is closed`, { run: this.run });
  }

  #noteSaved(step: number): void {
    this.#lastSavedStep = step;
    this.#lastSaveTime = this.#clock.now();
  }

  /** Queues a commit behind the previous one. */
  #enqueue(step: number, encoded: EncodedTrainingState, options: SaveCheckpointOptions): Promise<Snapshot> {
    const run = this.#chain.then(() => this.#commit(step, encoded, options));
    this.#chain = run.then(noop, noop);
    return run;
  }

  async #commit(step: number, encoded: EncodedTrainingState, options: SaveCheckpointOptions): Promise<Snapshot> {
    if (this.#thread) return this.#commitOnThread(this.#thread, step, encoded, options);
    const snap = await this.repo.save({
      run: this.run, step, parent: this.#parent,
      tensors: encoded.tensors, blobs: encoded.blobs,
      meta: { ...(options.meta ?? {}), ...encoded.meta },
      metrics: options.metrics ?? {}, message: options.message ?? '',
      ...(options.tags ? { tags: options.tags } : {}),
    });
    this.#parent = snap.id;
    this.#lastCommitted = { id: snap.id, step };
    this.#emit({ type: 'committed', step, snapshot: snap.id, parent: snap.parent });
    await this.#tagBest(snap);
    if (this.#retention.length > 0) {
      // The run's newest snapshot, its head and tagged snapshots are always kept (forget's guards).
      const result = await this.repo.forget({ run: this.run, rules: this.#retention });
      if (result.forgotten.length > 0) this.#emit({ type: 'retention', step, forgotten: result.forgotten });
    }
    return snap;
  }

  /** {@link #commit} on the commit thread: the same save, best tag and retention, reported the same way. */
  async #commitOnThread(thread: CommitThread, step: number, encoded: EncodedTrainingState, options: SaveCheckpointOptions): Promise<Snapshot> {
    const reply = await thread.commit({
      save: {
        run: this.run, step, parent: this.#parent ?? undefined,
        tensors: encoded.tensors, blobs: encoded.blobs,
        meta: { ...(options.meta ?? {}), ...encoded.meta },
        metrics: options.metrics ?? {}, message: options.message ?? '',
        ...(options.tags ? { tags: options.tags } : {}),
      },
      ...(this.#best ? { best: this.#best } : {}),
      retention: this.#retention,
    });
    const id = reply.manifest.id;
    this.#parent = id;
    this.#lastCommitted = { id, step };
    this.#emit({ type: 'committed', step, snapshot: id, parent: reply.manifest.parent });
    if (reply.best) this.#emit(reply.best);
    if (reply.forgotten.length > 0) this.#emit({ type: 'retention', step, forgotten: reply.forgotten });
    return this.repo.adoptSnapshot(reply.manifest);
  }

  async #tagBest(snap: Snapshot): Promise<void> {
    if (!this.#best) return;
    const event = await tagBest(this.repo, this.run, snap, this.#best);
    if (event) this.#emit(event);
  }

  /** Waits until nothing is in flight (failures stay pending for the next call to report). */
  async #drain(): Promise<void> {
    while (this.#inFlight.length > 0) await Promise.all(this.#inFlight.map((f) => f.settled));
    await this.#chain;
  }

  #fail(step: number | undefined, error: unknown): void {
    this.#pending ??= { step, error };
    this.#emit({ type: 'error', ...(step !== undefined ? { step } : {}), error });
  }

  #throwPending(): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    const e = p.error;
    if (isEngramError(e)) {
      throw new EngramError(e.code, `the background save of ${this.run}@${p.step} failed: ${e.message}`, { ...e.data, run: this.run, step: p.step }, { cause: e });
    }
    throw e;
  }

  #emit(event: CheckpointEvent): void {
    if (!this.#onEvent) return;
    try {
      this.#onEvent(event);
    } catch (e) {
      // A listener's bug must not vanish, nor break the save that reported to it: the next call throws it.
      this.#pending ??= { step: 'step' in event ? event.step : undefined, error: e };
    }
  }
}
