/**
 * @module FastCDC content-defined chunking (Xia et al., 2016) with normalized chunking level 2, for
 * opaque files and blobs: an insertion moves only the boundaries near it, so later chunks still
 * deduplicate.
 *
 * The gear table is part of the storage format — changing it changes every boundary and so every
 * chunk of every future save — so it is generated from a fixed seed and pinned by a test.
 */
import { EngramError } from '../errors/index.ts';

/** Sizes of content-defined chunks, in bytes. */
export interface CdcOptions {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
}

/** The defaults: 64 KiB / 256 KiB / 1 MiB. */
export const DEFAULT_CDC: CdcOptions = { minSize: 64 * 1024, avgSize: 256 * 1024, maxSize: 1024 * 1024 };

/** The seed of the gear table: do not change (see the module comment). */
export const GEAR_SEED = 0x656e6772; // "engr"

/** 256 pseudo-random 32-bit values from splitmix32 seeded with {@link GEAR_SEED}. */
export const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256);
  let s = GEAR_SEED >>> 0;
  for (let i = 0; i < 256; i++) {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    table[i] = (z ^ (z >>> 16)) >>> 0;
  }
  return table;
})();

/** A mask of `bits` one-bits at the top of a 32-bit word: the top bits mix the most recent bytes. */
function topMask(bits: number): number {
  const b = Math.max(1, Math.min(31, bits));
  return ((0xffffffff << (32 - b)) >>> 0);
}

function checkOptions(o: CdcOptions): void {
  if (!(o.minSize > 0 && o.minSize <= o.avgSize && o.avgSize <= o.maxSize)) {
    throw new EngramError('InvalidArgument', `FastCDC sizes must satisfy 0 < min ≤ avg ≤ max, got ${o.minSize}/${o.avgSize}/${o.maxSize}`, { ...o });
  }
}

/** Length of the first chunk of `data` starting at `start`. */
function cut(data: Uint8Array, start: number, o: CdcOptions, maskS: number, maskL: number): number {
  const remaining = data.byteLength - start;
  if (remaining <= o.minSize) return remaining;
  const max = Math.min(o.maxSize, remaining);
  const normal = Math.min(o.avgSize, max);
  let hash = 0;
  let i = o.minSize;
  for (; i < normal; i++) {
    hash = ((hash << 1) + GEAR[data[start + i]!]!) >>> 0;
    if ((hash & maskS) === 0) return i + 1;
  }
  for (; i < max; i++) {
    hash = ((hash << 1) + GEAR[data[start + i]!]!) >>> 0;
    if ((hash & maskL) === 0) return i + 1;
  }
  return max;
}

/**
 * The end offsets of the content-defined chunks of `data` (the last is `data.byteLength`; none for
 * empty data).
 */
export function fastcdcBoundaries(data: Uint8Array, options: CdcOptions = DEFAULT_CDC): number[] {
  checkOptions(options);
  const bits = Math.round(Math.log2(options.avgSize));
  // Normalized chunking level 2: harder to cut before the average size, easier after it.
  const maskS = topMask(bits + 2);
  const maskL = topMask(bits - 2);
  const ends: number[] = [];
  let pos = 0;
  while (pos < data.byteLength) {
    pos += cut(data, pos, options, maskS, maskL);
    ends.push(pos);
  }
  return ends;
}
