/**
 * @module The standard continual-learning measures of an accuracy matrix R (R[i][j]: accuracy on
 * task j after training task i), as issue 14 defines them, with T the last task trained (the last
 * row holding an entry):
 *
 * - ACC = mean_j R[T][j] over the tasks trained so far (j ≤ T);
 * - BWT = mean_{j<T} (R[T][j] − R[j][j]);
 * - F   = mean_{j<T} (max_{l<T} R[l][j] − R[T][j]).
 *
 * A missing entry (null) is left out of a mean and of a max; a mean over nothing is null.
 */

/** The three measures; null where the matrix does not define them (e.g. BWT and F before a second task). */
export interface TaskMeasures {
  readonly acc: number | null;
  readonly bwt: number | null;
  readonly forgetting: number | null;
}

/** How far one earlier task fell from its best: what the forgetting guard judges. */
export interface TaskDrop {
  /** Index of the task (column j). */
  readonly index: number;
  /** max_{l<T} R[l][j], and the row l where it was reached (the first such row). */
  readonly best: number;
  readonly bestAfter: number;
  /** R[T][j]. */
  readonly now: number;
  /** best − now (negative: better than ever). */
  readonly drop: number;
}

const mean = (xs: readonly number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

/** The row of the last task trained: the last row with an entry, or −1 for an empty matrix. */
export function lastTrained(r: readonly (readonly (number | null)[])[]): number {
  for (let i = r.length - 1; i >= 0; i--) if (r[i]!.some((v) => v !== null)) return i;
  return -1;
}

/** Each earlier task's drop from its best at row T (tasks with no R[T][j] or no earlier entry are left out). */
export function taskDrops(r: readonly (readonly (number | null)[])[]): TaskDrop[] {
  const t = lastTrained(r);
  const out: TaskDrop[] = [];
  for (let j = 0; j < t; j++) {
    const now = r[t]![j] ?? null;
    if (now === null) continue;
    let best: number | null = null;
    let bestAfter = -1;
    for (let l = 0; l < t; l++) {
      const v = r[l]![j] ?? null;
      if (v !== null && (best === null || v > best)) {
        best = v;
        bestAfter = l;
      }
    }
    if (best !== null) out.push({ index: j, best, bestAfter, now, drop: best - now });
  }
  return out;
}

/** ACC, BWT and F of `r` (see the module comment). */
export function taskMeasures(r: readonly (readonly (number | null)[])[]): TaskMeasures {
  const t = lastTrained(r);
  if (t < 0) return { acc: null, bwt: null, forgetting: null };
  const row = r[t]!;
  const acc = mean(row.slice(0, t + 1).filter((v): v is number => v !== null));
  const back: number[] = [];
  for (let j = 0; j < t; j++) {
    const now = row[j] ?? null;
    const then = r[j]![j] ?? null;
    if (now !== null && then !== null) back.push(now - then);
  }
  return { acc, bwt: mean(back), forgetting: mean(taskDrops(r).map((d) => d.drop)) };
}
