/**
 * @module Public surface of continual/ (`engram/continual`): what a continual-learning run keeps
 * besides its model, as typed, versioned, deduplicated checkpoint state — replay buffers, EWC's
 * Fisher diagonals and anchors, the task registry with its accuracy matrix — and the forgetting
 * guard. Plain tensors in, plain tensors out (no framework); everything rides in
 * `TrainingState.namespaces` through train/'s CheckpointManager.
 */

/** The replay buffer (reservoir, ring, class-balanced) with its incremental namespace. */
export { COMPACTION_BUDGET, MAX_LIVE_SEGMENTS, ReplayBuffer, SOFT_LIVE_SEGMENTS } from './replay-buffer.ts';
/** The replay buffer's options, kinds and fields. */
export type { ReplayBufferOptions, ReplayField, ReplayKind } from './replay-fields.ts';
/** The record format of a replay buffer's namespace (`format`, `version`). */
export { REPLAY_FORMAT, REPLAY_VERSION } from './replay-record.ts';
/** The record a replay buffer keeps in its namespace. */
export type { ReplayRecord } from './replay-record.ts';

/** EWC on Float32 weights: per-task or online, penalty, gradient, namespaces. */
export { Ewc } from './ewc.ts';
/** Options of {@link Ewc}. */
export type { EwcOptions } from './ewc.ts';
/** The diagonal Fisher from log-likelihood gradients. */
export { FisherAccumulator } from './fisher-accumulator.ts';
/** The record format and namespace names of EWC state. */
export { EWC_FORMAT, EWC_ONLINE, EWC_PREFIX, EWC_VERSION } from './ewc-record.ts';
/** The record an EWC namespace holds. */
export type { EwcRecord } from './ewc-record.ts';

/** Tasks in order, their classes and embeddings, the accuracy matrix R. */
export { TaskRegistry, TASKS_FORMAT, TASKS_VERSION } from './task-registry.ts';
/** One task, and the record a task registry keeps. */
export type { TaskInfo, TaskRecord } from './task-registry.ts';
/** ACC, BWT and F of an accuracy matrix, and each earlier task's drop from its best. */
export { lastTrained, taskDrops, taskMeasures } from './task-measures.ts';
/** The measures and one task's drop. */
export type { TaskDrop, TaskMeasures } from './task-measures.ts';

/** The forgetting guard, and a snapshot's task registry read from its record. */
export { guardForgetting, readTaskRegistry } from './forgetting-guard.ts';
/** The guard's options and findings. */
export type { ForgettingFinding, ForgettingGuardOptions, ForgottenTask } from './forgetting-guard.ts';

/** A snapshot's continual-learning state, for `engram show` and `engram tasks`. */
export { describeContinualState } from './continual-summary.ts';
/** The summary's parts. */
export type { ContinualSummary, EwcSummary, ReplaySummary, TasksSummary } from './continual-summary.ts';
