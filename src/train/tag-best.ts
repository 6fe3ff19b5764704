/**
 * @module Moving the best-by-metric tag after a commit. Shared by the manager's own thread and the
 * commit thread, so both decide the same way.
 */
import { isEngramError } from '../errors/index.ts';
import { defaultMetricMode, type Repository } from '../repo/index.ts';
import type { CheckpointEvent } from './checkpoint-event.ts';

/** Which tag follows which metric (see CheckpointManagerOptions.best). */
export interface BestTagRule {
  readonly metric: string;
  readonly mode?: 'min' | 'max';
  readonly tag?: string;
}

/**
 * Moves the rule's tag onto `snap` when its metric beats the tagged snapshot's (strictly), and
 * returns the `best` event to report; undefined when the tag stays.
 */
export async function tagBest(
  repo: Repository,
  run: string,
  snap: { readonly id: string; readonly step: number; readonly metrics: Readonly<Record<string, number>> },
  best: BestTagRule,
): Promise<Extract<CheckpointEvent, { type: 'best' }> | undefined> {
  const value = snap.metrics[best.metric];
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  const tag = best.tag ?? 'best';
  const mode = best.mode ?? defaultMetricMode(best.metric);
  const currentId = await repo.refs.resolve(tag);
  let previous: { snapshot: string; value: number | null } | null = null;
  if (currentId !== undefined) {
    try {
      const v = (await repo.manifest(currentId)).metrics[best.metric];
      previous = { snapshot: currentId, value: typeof v === 'number' && Number.isFinite(v) ? v : null };
    } catch (e) {
      if (!isEngramError(e, 'NotFound')) throw e;
    }
  }
  const better = previous === null || previous.value === null || (mode === 'min' ? value < previous.value : value > previous.value);
  if (!better) return undefined;
  await repo.tag(tag, snap.id, `best ${best.metric}=${value} (${mode}) at ${run}@${snap.step}`);
  return { type: 'best', step: snap.step, snapshot: snap.id, tag, metric: best.metric, value, previous };
}
