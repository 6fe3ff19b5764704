/**
 * @module A run's head: the snapshot `run@latest` names and a save's default parent. Without a
 * rollback it is the highest step (ties: the newest). A rollback appends a head event
 * (`heads/<run>/<event-id>.json`, the same append-only events as tags) pointing back at an earlier
 * snapshot; from then on the head is that snapshot until a snapshot of the run is committed after
 * the event, and then the highest step among those committed after it. Nothing is deleted: the
 * abandoned snapshots stay addressable by id, `run@step` and tags, and the events are the audit trail.
 */
import type { RefEvent } from './ref-store.ts';

/** What the head rule needs to know of a snapshot. */
export interface HeadCandidate {
  readonly id: string;
  readonly step: number;
}

/** Highest step, ties the newest id: the order `run@latest` has always used. */
function highest<T extends HeadCandidate>(snapshots: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const m of snapshots) if (!best || m.step > best.step || (m.step === best.step && m.id > best.id)) best = m;
  return best;
}

/**
 * The head among one run's snapshots, given the run's newest head event (if any).
 *
 * Snapshot ids and event ids are both time-sortable ids from the repository's clock, so "committed
 * after the rollback" is `id > event.event`. Across processes that relies on clocks agreeing to
 * within the time between a rollback and the next save, which is the same assumption tag order
 * makes. A head event whose target no longer exists (forgotten with the guards turned off) is
 * ignored.
 */
export function runHead<T extends HeadCandidate>(snapshots: readonly T[], event: RefEvent | undefined): T | undefined {
  if (event?.target) {
    const after = highest(snapshots.filter((m) => m.id > event.event));
    if (after) return after;
    const target = snapshots.find((m) => m.id === event.target);
    if (target) return target;
  }
  return highest(snapshots);
}
