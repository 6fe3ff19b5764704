/**
 * @module loadDigits: the UCI handwritten digits in demo/data/digits.csv.gz (1,797 8×8 images, see
 * its README), pixels scaled to [0, 1], split into a training and a validation set by a seeded
 * permutation, so every process that loads them with the same seed sees the same split.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Rng } from '../src/train/index.ts';

/** Pixels per image (8×8). */
export const FEATURES = 64;
/** Digit classes. */
export const CLASSES = 10;

/** Labelled examples as flat arrays. */
export interface Examples {
  readonly count: number;
  /** count × FEATURES, row-major, in [0, 1]. */
  readonly x: Float32Array;
  /** Labels 0–9. */
  readonly y: Int32Array;
}

/** The training and validation sets. */
export interface DigitsSplit {
  readonly train: Examples;
  readonly val: Examples;
}

/** Reads the digits and holds out `valCount` of them, chosen by a permutation drawn from `seed`. */
export function loadDigits(seed: number, valCount: number): DigitsSplit {
  const rows = gunzipSync(readFileSync(new URL('./data/digits.csv.gz', import.meta.url))).toString('utf8').trim().split('\n');
  const x = new Float32Array(rows.length * FEATURES);
  const y = new Int32Array(rows.length);
  rows.forEach((row, r) => {
    const v = row.split(',').map(Number);
    if (v.length !== FEATURES + 1 || v.some((n) => !Number.isInteger(n))) throw new Error(`demo/data/digits.csv.gz row ${r + 1} is malformed`);
    for (let i = 0; i < FEATURES; i++) x[r * FEATURES + i] = v[i]! / 16;
    y[r] = v[FEATURES]!;
  });
  if (!(valCount > 0 && valCount < rows.length)) throw new Error(`valCount must be in 1..${rows.length - 1}, got ${valCount}`);
  const order = new Rng(seed).shuffle([...Array(rows.length).keys()]);
  const pick = (indices: number[]): Examples => {
    const px = new Float32Array(indices.length * FEATURES);
    const py = new Int32Array(indices.length);
    indices.forEach((src, i) => {
      px.set(x.subarray(src * FEATURES, (src + 1) * FEATURES), i * FEATURES);
      py[i] = y[src]!;
    });
    return { count: indices.length, x: px, y: py };
  };
  return { train: pick(order.slice(valCount)), val: pick(order.slice(0, valCount)) };
}
