/**
 * @module trainSplitDigits: a Split-Digits run from start (or from its latest checkpoint) to the
 * end, checkpointed through a CheckpointManager every `every` steps and at every task boundary —
 * the loop the benchmark (without a manager), the demo's child process and the SIGKILL resume
 * test share.
 */
import type { CheckpointManager } from '../../src/train/index.ts';
import { SplitDigitsRun, type SplitDigitsConfig } from './split-digits-run.ts';

/** Options of {@link trainSplitDigits}. */
export interface TrainSplitDigitsOptions {
  /** Where checkpoints go; none: the run is not checkpointed (the benchmark). */
  readonly manager?: CheckpointManager;
  /** Checkpoint every this many steps (and at every task boundary). */
  readonly every?: number;
  /** Stop once this many steps are done (default: at the end of the last task). */
  readonly untilStep?: number;
  /** Called once the run has restored its latest checkpoint. */
  readonly onResume?: (step: number) => void;
  /** Called after each step (before its checkpoint, if any). */
  readonly onStep?: (step: number, boundary: boolean) => void;
  /** Called after a checkpoint's save() returned (staged, for an asynchronous manager). */
  readonly onSaved?: (step: number, boundary: boolean) => void;
}

/** Trains a run of `config` to its end (or `untilStep`); resumes from the manager's latest checkpoint when there is one. */
export async function trainSplitDigits(config: SplitDigitsConfig, options: TrainSplitDigitsOptions = {}): Promise<SplitDigitsRun> {
  const run = new SplitDigitsRun(config);
  const { manager } = options;
  const every = options.every ?? 0;
  if (manager && (await manager.latestStep()) !== undefined) {
    await run.restoreState(await manager.restore('latest'));
    options.onResume?.(run.step);
  }
  while (!run.done && run.step < (options.untilStep ?? Infinity)) {
    const { loss, boundary } = await run.trainStep();
    options.onStep?.(run.step, boundary);
    if (!manager || !(boundary || (every > 0 && run.step % every === 0))) continue;
    // Only steps that are saved build the state: a replay buffer's namespace is incremental (the
    // examples admitted since the previous call), so it must not be built for a save that is skipped.
    await manager.save(run.step, await run.captureState(), { metrics: { loss }, force: boundary, message: boundary ? `end of task ${run.taskIndex}` : '' });
    options.onSaved?.(run.step, boundary);
  }
  return run;
}
