/**
 * @module loadDigits: the UCI handwritten digits (bench/data/digits.csv.gz, 1,797 8×8 images),
 * pixels scaled to [0, 1]. W3 and W4 train on it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** A classification data set as flat arrays. */
export interface Digits {
  readonly count: number;
  readonly features: number;
  readonly classes: number;
  /** count × features, row-major. */
  readonly x: Float32Array;
  readonly y: Int32Array;
}

/** Reads bench/data/digits.csv.gz. */
export function loadDigits(): Digits {
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'digits.csv.gz');
  const rows = gunzipSync(readFileSync(path)).toString('utf8').trim().split('\n');
  const features = 64;
  const x = new Float32Array(rows.length * features);
  const y = new Int32Array(rows.length);
  rows.forEach((row, r) => {
    const v = row.split(',').map(Number);
    if (v.length !== features + 1) throw new Error(`digits.csv.gz row ${r} has ${v.length} values`);
    for (let i = 0; i < features; i++) x[r * features + i] = v[i]! / 16;
    y[r] = v[features]!;
  });
  return { count: rows.length, features, classes: 10, x, y };
}

/** The same images mirrored left to right: a shifted domain to fine-tune on. */
export function mirrorDigits(d: Digits): Digits {
  const x = new Float32Array(d.x.length);
  for (let r = 0; r < d.count; r++) {
    for (let row = 0; row < 8; row++) for (let col = 0; col < 8; col++) x[r * 64 + row * 8 + col] = d.x[r * 64 + row * 8 + (7 - col)]!;
  }
  return { ...d, x };
}
