/**
 * @module Cheap statistics of one byte plane, used to decide how to code it without trying every
 * codec: the order-0 entropy (what rANS reaches), and how often a byte repeats its predecessor
 * compared with chance (sequential structure that zstd's matches exploit and order-0 coding cannot).
 */

/** What {@link planeStats} measures. */
export interface PlaneStats {
  /** Order-0 entropy of the plane, in bytes (entropy bits per byte × length / 8). */
  readonly entropyBytes: number;
  /** Bits per byte of order-0 entropy. */
  readonly bitsPerByte: number;
  /** Fraction of positions equal to the previous byte, minus what independent bytes would give. */
  readonly excessRepeats: number;
}

const counts = new Uint32Array(256);
const LOG2 = new Float64Array(65537);
// -p log2 p needs log2 of counts; a table for small counts avoids Math.log2 in the common case.
for (let i = 1; i < LOG2.length; i++) LOG2[i] = Math.log2(i);

function log2(n: number): number {
  return n < LOG2.length ? LOG2[n]! : Math.log2(n);
}

/**
 * At most this many positions are sampled, spread evenly over the plane: the estimate only steers
 * choices (the coders then see every byte), and 16 Ki samples put the entropy within a few hundredths
 * of a bit of the whole plane's for the smooth distributions of weights.
 */
const MAX_SAMPLES = 16 * 1024;

/** Positions {@link planeStats} samples in a plane of `length` bytes: every `step`-th from 0. */
export function sampleStep(length: number): number {
  return Math.max(1, Math.floor(length / MAX_SAMPLES));
}

/** Histogram-based statistics of `plane`, from every byte or, for long planes, a regular sample. */
export function planeStats(plane: Uint8Array): PlaneStats {
  const length = plane.byteLength;
  if (length === 0) return { entropyBytes: 0, bitsPerByte: 0, excessRepeats: 0 };
  counts.fill(0);
  const step = sampleStep(length);
  let repeats = 0;
  counts[plane[0]!]!++;
  for (let i = step; i < length; i += step) {
    const b = plane[i]!;
    counts[b]!++;
    if (b === plane[i - 1]) repeats++;
  }
  return statsFromCounts(counts, repeats, length);
}

/**
 * The statistics of a plane of `length` bytes from the histogram of its sampled positions
 * (`counts`, 256 entries, as {@link planeStats} samples them) and how many samples repeat their
 * predecessor. Shared by the TypeScript pass and the kernels' (plane-histogram.c), so that both
 * give the same floating-point results and hence the same coding choices.
 */
export function statsFromCounts(counts: Uint32Array, repeats: number, length: number): PlaneStats {
  if (length === 0) return { entropyBytes: 0, bitsPerByte: 0, excessRepeats: 0 };
  const n = 1 + Math.floor((length - 1) / sampleStep(length));
  let bits = 0;
  let sumP2 = 0;
  const logN = log2(n);
  for (let s = 0; s < 256; s++) {
    const c = counts[s]!;
    if (c === 0) continue;
    bits += c * (logN - log2(c));
    sumP2 += (c / n) * (c / n);
  }
  const bitsPerByte = bits / n;
  return { entropyBytes: (bitsPerByte * length) / 8, bitsPerByte, excessRepeats: repeats / Math.max(1, n - 1) - sumP2 };
}
