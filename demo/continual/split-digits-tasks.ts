/**
 * @module Split-Digits: the UCI digits (demo/data/) as 5 tasks of 2 classes — {0,1}, {2,3}, {4,5},
 * {6,7}, {8,9} — each with its own training and test examples, from the seeded split of
 * demo/digits-data.ts (so every process with the same seed sees the same tasks).
 */
import { FEATURES, loadDigits, type Examples } from '../digits-data.ts';

/** One task: its id, its two classes and its examples. */
export interface DigitsTask {
  readonly id: string;
  readonly classes: readonly number[];
  readonly train: Examples;
  readonly test: Examples;
}

/** Tasks of Split-Digits. */
export const TASKS = 5;
/** Images held out for testing (20 % of the 1,797), ~72 per task; the other ~1,437 train. */
export const TEST_COUNT = 360;

/** The 5 tasks, split by a permutation drawn from `seed`. */
export function splitDigits(seed: number): DigitsTask[] {
  const { train, val } = loadDigits(seed, TEST_COUNT);
  return Array.from({ length: TASKS }, (_, t) => {
    const classes = [2 * t, 2 * t + 1];
    return { id: `digits-${classes.join('-')}`, classes, train: only(train, classes), test: only(val, classes) };
  });
}

/** The examples of `classes`, in their order in `all`. */
function only(all: Examples, classes: readonly number[]): Examples {
  const rows: number[] = [];
  for (let i = 0; i < all.count; i++) if (classes.includes(all.y[i]!)) rows.push(i);
  const x = new Float32Array(rows.length * FEATURES);
  const y = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    x.set(all.x.subarray(r * FEATURES, (r + 1) * FEATURES), i * FEATURES);
    y[i] = all.y[r]!;
  });
  return { count: rows.length, x, y };
}
