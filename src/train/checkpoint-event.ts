/** @module What a CheckpointManager reports through its `onEvent` callback. */
import type { RefEvent } from '../repo/index.ts';
import type { PromotionFinding } from './promotion-guard.ts';

/**
 * One thing a CheckpointManager did or found. Every background failure arrives as an `error`
 * event (and is also thrown by the next `save()`, `wait()` or `close()`).
 */
export type CheckpointEvent =
  /** A save waits for a slot: `maxInFlight` saves are in flight. */
  | { readonly type: 'backpressure'; readonly step: number; readonly inFlight: number }
  /** The state of `step` is copied out (`bytes` in all; `allocatedBytes` of them into new buffers). */
  | { readonly type: 'staged'; readonly step: number; readonly bytes: number; readonly allocatedBytes: number; readonly inFlight: number }
  /** The snapshot of `step` is committed (durable). */
  | { readonly type: 'committed'; readonly step: number; readonly snapshot: string; readonly parent: string | null }
  /** The best-by-metric tag moved onto a new snapshot. */
  | { readonly type: 'best'; readonly step: number; readonly snapshot: string; readonly tag: string; readonly metric: string; readonly value: number; readonly previous: { readonly snapshot: string; readonly value: number | null } | null }
  /** Retention forgot these snapshots after the save of `step`. */
  | { readonly type: 'retention'; readonly step: number; readonly forgotten: readonly string[] }
  /** A promotion guard decided (promoted or refused). */
  | { readonly type: 'promotion'; readonly finding: PromotionFinding }
  /** The run's head was moved back. */
  | { readonly type: 'rollback'; readonly event: RefEvent }
  /** A training state was restored. */
  | { readonly type: 'restored'; readonly step: number; readonly snapshot: string }
  /** A preemption signal arrived; in-flight saves are finishing and the final checkpoint follows. */
  | { readonly type: 'preempted'; readonly signal: string }
  /** A save (or what follows it: best tag, retention) failed. `step` is absent for a failed final checkpoint's state callback. */
  | { readonly type: 'error'; readonly step?: number; readonly error: unknown };
