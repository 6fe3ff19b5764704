/**
 * @module CheckpointManager: when to save (policies), saving without stopping training (two-stage
 * asynchronous saves, as PyTorch DCP's `async_save`), what to keep (retention), the best checkpoint
 * by a metric, resume, rollback, a promotion guard and preemption. This file decides and stages;
 * commit-queue.ts commits in order, preemption.ts handles signals, and checkpoint-manager-options.ts
 * declares the options and results of the methods.
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
import { EngramError, isEngramError } from '../errors/index.ts';
import { checkRunName, defaultMetricMode, systemClock, type Clock, type RefEvent, type Repository, type Snapshot } from '../repo/index.ts';
import type { CheckpointEvent } from './checkpoint-event.ts';
import type { CheckpointHandle, CheckpointManagerOptions, RestoreTarget, SaveCheckpointOptions } from './checkpoint-manager-options.ts';
import { Preemption, type FinalCheckpoint, type PreemptionOptions } from './preemption.ts';
import { guardPromotion, type PromotionFinding, type PromotionGuardOptions } from './promotion-guard.ts';
import { checkSavePolicies, decideSave, type SavePolicy } from './save-policy.ts';
import { StagingPool } from './staging-pool.ts';
import { CommitQueue } from './commit-queue.ts';
import { CommitThread } from './commit-thread.ts';
import { encodeTrainingState, readTrainingState, type EncodedTrainingState, type RestoreInto } from './training-snapshot.ts';
import type { RestoredTrainingState, TrainingState } from './training-state.ts';

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
  readonly #maxInFlight: number;
  readonly #async: boolean;
  readonly #onEvent: ((event: CheckpointEvent) => void) | undefined;
  readonly #clock: Clock;
  readonly #pool: StagingPool;
  readonly #thread: CommitThread | undefined;
  readonly #commits: CommitQueue;
  #inFlight: InFlight[] = [];
  #pending: { step: number | undefined; error: unknown } | undefined;
  #lastSavedStep: number | undefined;
  #lastSaveTime: number;
  #closed = false;
  readonly #preemption = new Preemption();

  constructor(repo: Repository, options: CheckpointManagerOptions) {
    this.repo = repo;
    this.run = checkRunName(options.run);
    const policies = options.policies === undefined ? [{ kind: 'every-steps', n: 1 } as const]
      : Array.isArray(options.policies) ? options.policies : [options.policies as SavePolicy];
    checkSavePolicies(policies);
    this.#policies = [...policies];
    const maxInFlight = options.maxInFlight ?? 1;
    if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) throw new EngramError('InvalidArgument', `maxInFlight must be a positive integer, got ${maxInFlight}`, { maxInFlight });
    this.#maxInFlight = maxInFlight;
    this.#async = options.async ?? true;
    if (options.best && options.best.metric === '') throw new EngramError('InvalidArgument', 'best needs a metric name');
    const dir = repo.localDirectory;
    const threaded = this.#async && dir !== undefined && (options.commitThread ?? true);
    this.#thread = threaded ? new CommitThread(dir, { fsync: options.fsync }) : undefined;
    this.#commits = new CommitQueue(repo, this.run, {
      thread: this.#thread, best: options.best, retention: [...(options.retention ?? [])], emit: (e) => this.#emit(e),
    });
    // Staged buffers are shared with the commit thread rather than copied to it.
    this.#pool = new StagingPool(threaded);
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
    return this.#preemption.handling !== undefined;
  }

  /**
   * Saves the state of `step` if a policy (or `force`) asks for it. Asynchronous mode resolves once
   * the state is staged — the caller may then change its buffers — and `durable` settles when the
   * checkpoint is committed; synchronous mode resolves once committed. Throws first the error of
   * any earlier background save that failed since the last call reported one.
   */
  async save(step: number, state: TrainingState, options: SaveCheckpointOptions = {}): Promise<CheckpointHandle> {
    this.#checkOpen();
    if (this.#preemption.listening || this.#preemption.handling) {
      // Signals arrive as event-loop callbacks, which a loop that only awaits microtasks never
      // lets run: yield once, so a pending SIGTERM is handled at this step boundary.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#preemption.handling) return this.#parked(step);
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
        const snap = await this.#commits.enqueue(step, encoded, options);
        return { step, saved: true, reason: decision.reason, durable: Promise.resolve(snap) };
      } catch (e) {
        this.#emit({ type: 'error', step, error: e });
        throw e;
      }
    }

    if (this.#inFlight.length >= this.#maxInFlight) {
      this.#emit({ type: 'backpressure', step, inFlight: this.#inFlight.length });
      while (this.#inFlight.length >= this.#maxInFlight) await Promise.race(this.#inFlight.map((f) => f.settled));
      if (this.#preemption.handling) return this.#parked(step);
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
    const durable = this.#commits.enqueue(step, encoded, options).finally(() => this.#pool.release(set));
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
    this.#preemption.stop();
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
    this.#commits.parent = snap.id;
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
    this.#commits.parent = event.target ?? undefined;
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
    const candidate = options.candidate ?? this.#commits.lastCommitted?.id ?? `${this.run}@latest`;
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
    return this.#preemption.listen(options, {
      drain: () => this.#drain(),
      writeFinal: (final, signal) => this.#writeFinal(final, signal),
      emit: (event) => this.#emit(event),
    });
  }

  /** The final checkpoint on `signal`: the committed one when the loop had just saved that very step. */
  async #writeFinal(final: FinalCheckpoint, signal: NodeJS.Signals): Promise<Snapshot> {
    if (this.#commits.lastCommitted?.step === final.step) return this.repo.snapshot(this.#commits.lastCommitted.id);
    const encoded = encodeTrainingState(final.state);
    this.#noteSaved(final.step);
    return this.#commits.enqueue(final.step, encoded, { metrics: final.metrics ?? {}, message: `final checkpoint on ${signal}` });
  }

  /** A save() during preemption: the handler writes the final checkpoint; the loop waits here meanwhile. */
  async #parked(step: number): Promise<CheckpointHandle> {
    await this.#preemption.handling;
    return { step, saved: false, reason: 'preempted: the preemption handler wrote the final checkpoint', durable: Promise.resolve(undefined) };
  }

  #checkOpen(): void {
    if (this.#closed) throw new EngramError('InvalidArgument', `the CheckpointManager of run ${this.run} is closed`, { run: this.run });
  }

  #noteSaved(step: number): void {
    this.#lastSavedStep = step;
    this.#lastSaveTime = this.#clock.now();
  }

  /** Waits until nothing is in flight (failures stay pending for the next call to report). */
  async #drain(): Promise<void> {
    while (this.#inFlight.length > 0) await Promise.all(this.#inFlight.map((f) => f.settled));
    await this.#commits.idle();
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
