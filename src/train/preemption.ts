/**
 * @module Preemption for a CheckpointManager: on SIGTERM (a scheduler taking the machine back) or
 * SIGINT, finish the saves in flight, write a final checkpoint of exactly the step the loop stopped
 * at, and exit with 128 + the signal number, as a process killed by the signal would report. The
 * manager owns the checkpoints; this file owns the signals — listening, the once-only handling, a
 * second signal's immediate exit and the exit itself — and reaches the manager only through
 * {@link PreemptionHost}.
 */
import { constants as osConstants } from 'node:os';
import { EngramError } from '../errors/index.ts';
import type { Snapshot } from '../repo/index.ts';
import type { CheckpointEvent } from './checkpoint-event.ts';
import type { TrainingState } from './training-state.ts';

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

/** Options of `CheckpointManager.handlePreemption`. */
export interface PreemptionOptions {
  /** Default SIGTERM and SIGINT. */
  readonly signals?: readonly NodeJS.Signals[];
  /** The state to write as the final checkpoint, read once the in-flight saves have finished. */
  readonly finalState: () => FinalCheckpoint | Promise<FinalCheckpoint>;
  /** Called instead of `process.exit(128 + signo)` once the final checkpoint is written (or failed). */
  readonly onExit?: (outcome: PreemptionOutcome) => void | Promise<void>;
}

/** What the preemption handler needs of its manager. */
export interface PreemptionHost {
  /** Waits until no save is in flight. */
  drain(): Promise<void>;
  /** Commits `final` as the checkpoint of its step (or returns the committed one of that step). */
  writeFinal(final: FinalCheckpoint, signal: NodeJS.Signals): Promise<Snapshot>;
  emit(event: CheckpointEvent): void;
}

const noop = (): void => {};

/** One manager's preemption handling: at most one set of listeners, and one preemption handled. */
export class Preemption {
  #stop: (() => void) | undefined;
  #handling: Promise<void> | undefined;

  /** True while signal listeners are installed. */
  get listening(): boolean {
    return this.#stop !== undefined;
  }

  /** Set once a signal has arrived; resolves when its final checkpoint is written (or failed). */
  get handling(): Promise<void> | undefined {
    return this.#handling;
  }

  /**
   * Installs listeners for `options.signals`; validated first, so a refused call installs nothing.
   * Returns the function that removes them.
   */
  listen(options: PreemptionOptions, host: PreemptionHost): () => void {
    if (this.#stop) throw new EngramError('InvalidArgument', 'this manager already handles preemption');
    if (typeof options?.finalState !== 'function') throw new EngramError('InvalidArgument', 'handlePreemption needs finalState: () => ({ step, state })');
    const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
    for (const s of signals) {
      if (typeof osConstants.signals[s] !== 'number') throw new EngramError('InvalidArgument', `unknown signal ${String(s)}`, { signal: s });
    }
    const handler = (signal: NodeJS.Signals): void => void this.#onSignal(signal, options, host);
    for (const s of signals) process.on(s, handler);
    const stop = (): void => {
      for (const s of signals) process.off(s, handler);
      if (this.#stop === stop) this.#stop = undefined;
    };
    this.#stop = stop;
    return stop;
  }

  /** Removes the listeners, if any. */
  stop(): void {
    this.#stop?.();
  }

  async #onSignal(signal: NodeJS.Signals, options: PreemptionOptions, host: PreemptionHost): Promise<void> {
    const exitCode = 128 + (osConstants.signals[signal] ?? 0);
    if (this.#handling) {
      // A second signal: the user (or the scheduler) will not wait any longer.
      if (!options.onExit) process.exit(exitCode);
      return;
    }
    let done = noop;
    this.#handling = new Promise<void>((resolve) => (done = resolve));
    host.emit({ type: 'preempted', signal });
    let snapshot: Snapshot | undefined;
    let error: unknown;
    let step: number | undefined;
    try {
      await host.drain();
      const final = await options.finalState();
      step = final.step;
      snapshot = await host.writeFinal(final, signal);
    } catch (e) {
      error = e;
      host.emit({ type: 'error', ...(step !== undefined ? { step } : {}), error: e });
    }
    this.stop();
    done();
    if (options.onExit) {
      await options.onExit({ signal, exitCode, ...(snapshot ? { snapshot } : {}), ...(error !== undefined ? { error } : {}) });
      return;
    }
    if (error !== undefined) process.stderr.write(`engram: the final checkpoint on ${signal} failed: ${(error as Error)?.message ?? String(error)}\n`);
    process.exit(exitCode);
  }
}
