/** @module The options and results of {@link CheckpointManager}'s methods (checkpoint-manager.ts). */
import type { Clock, RetentionRule, Snapshot } from '../repo/index.ts';
import type { JsonValue } from '../tensor/index.ts';
import type { CheckpointEvent } from './checkpoint-event.ts';
import type { SavePolicy } from './save-policy.ts';

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
