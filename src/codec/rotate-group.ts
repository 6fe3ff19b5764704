/**
 * @module Rotated byte grouping: each element of 2 or 4 bytes (a little-endian integer) rotated
 * left by one bit, then byte-grouped (byte-group.ts). For bfloat16 and float32 the rotation moves
 * the sign bit below the mantissa, so the top plane holds the whole 8-bit exponent where plain
 * grouping splits it, 7 bits with the sign and the lowest bit among the mantissa's 7 — and the
 * exponent's lowest bit is predictable from the others (weights are densest just below their
 * scale). On W2 (bfloat16) the top plane's order-0 entropy drops from 2.68 to 2.58 bits while the
 * other plane stays near 8: about 1 % of the chunk (docs/ARCHITECTURE.md).
 *
 * Large inputs run in the `rotate-group` WebAssembly kernel (wasm/rotate-group.c); the TypeScript
 * loops below are the reference and the fallback.
 */
import { groupBytesJs, KERNEL_MIN_BYTES, planeRanges, runBlocked, ungroupBytesJs } from './byte-group.ts';
import { planeStats, sampleStep, statsFromCounts, type PlaneStats } from './plane-stats.ts';
import { loadKernel } from './wasm/index.ts';

/** Words per plane of the kernel's layout statistics: 256 counts, the repeats, the last byte. */
const STATE_WORDS = 258;

/** Whether elements of `width` bytes can be rotated (bfloat16/float16 and float32 sized). */
export function rotatable(width: number): boolean {
  return width === 2 || width === 4;
}

/** Rotates the whole elements of `bytes` one bit, left or right, in place (TypeScript loop). */
function rotateJs(bytes: Uint8Array, width: number, left: boolean): void {
  const n = Math.floor(bytes.byteLength / width);
  if (width === 2) {
    for (let i = 0, j = 0; i < n; i++, j += 2) {
      const v = bytes[j]! | (bytes[j + 1]! << 8);
      const r = left ? ((v << 1) | (v >>> 15)) : ((v >>> 1) | (v << 15));
      bytes[j] = r & 0xff;
      bytes[j + 1] = (r >>> 8) & 0xff;
    }
  } else if (width === 4) {
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      const v = bytes[j]! | (bytes[j + 1]! << 8) | (bytes[j + 2]! << 16) | (bytes[j + 3]! << 24);
      const r = left ? ((v << 1) | (v >>> 31)) : ((v >>> 1) | (v << 31));
      bytes[j] = r & 0xff;
      bytes[j + 1] = (r >>> 8) & 0xff;
      bytes[j + 2] = (r >>> 16) & 0xff;
      bytes[j + 3] = (r >>> 24) & 0xff;
    }
  }
}

function checkWidth(width: number): void {
  if (!rotatable(width)) throw new RangeError(`rotated grouping needs 2- or 4-byte elements, not ${width}`);
}

/** The TypeScript reference of {@link groupRotated}. */
export function groupRotatedJs(data: Uint8Array, width: number, out: Uint8Array = new Uint8Array(data.byteLength)): Uint8Array {
  checkWidth(width);
  const rotated = new Uint8Array(data);
  rotateJs(rotated, width, true);
  return groupBytesJs(rotated, width, out);
}

/** The TypeScript reference of {@link ungroupRotated}. */
export function ungroupRotatedJs(grouped: Uint8Array, width: number, out: Uint8Array = new Uint8Array(grouped.byteLength)): Uint8Array {
  checkWidth(width);
  ungroupBytesJs(grouped, width, out);
  rotateJs(out, width, false);
  return out;
}

/**
 * Rotates each whole element of `data` left by one bit and groups the result into `width` planes
 * (into `out`, which must not overlap `data`); a tail shorter than one element follows unchanged.
 */
export function groupRotated(data: Uint8Array, width: number, out: Uint8Array = new Uint8Array(data.byteLength)): Uint8Array {
  checkWidth(width);
  const k = data.byteLength >= KERNEL_MIN_BYTES ? loadKernel('rotate-group') : undefined;
  if (!k) return groupRotatedJs(data, width, out);
  // The kernel rotates its own copy of each block in place, so `data` is never written.
  runBlocked(k, width, data.byteLength, [[data, false]], [out, true], (x, o, bytes) => k.fn.group_rotated!(x[0]!, o, bytes, width));
  const whole = data.byteLength - (data.byteLength % width);
  out.set(data.subarray(whole), whole);
  return out;
}

/** Inverts {@link groupRotated}. */
export function ungroupRotated(grouped: Uint8Array, width: number, out: Uint8Array = new Uint8Array(grouped.byteLength)): Uint8Array {
  checkWidth(width);
  const k = grouped.byteLength >= KERNEL_MIN_BYTES ? loadKernel('rotate-group') : undefined;
  if (!k) return ungroupRotatedJs(grouped, width, out);
  runBlocked(k, width, grouped.byteLength, [[grouped, true]], [out, false], (x, o, bytes) => k.fn.ungroup_rotated!(x[0]!, o, bytes, width));
  const whole = grouped.byteLength - (grouped.byteLength % width);
  out.set(grouped.subarray(whole), whole);
  return out;
}

/** The plane statistics of both layouts of one buffer, as {@link layoutStats} returns them. */
export interface LayoutStats {
  /** planeStats of each plane of groupBytes(raw), then of the tail if any. */
  readonly plain: PlaneStats[];
  /** planeStats of each plane of groupRotated(raw), then of the tail if any. */
  readonly rotated: PlaneStats[];
}

const sampleCounts = new Uint32Array(2 * 4 * 256);
const sampleRepeats = new Float64Array(2 * 4);

// The sampling loops of layoutStats, one per width, written out so that V8 keeps them monomorphic
// (a version with closures per element ran at ~100 ns a sample). counts[256·p + b] counts byte b
// of plane p of the plain layout, counts[256·(width + p) + b] of the rotated one; reps likewise.

function sample2(raw: Uint8Array, n: number, step: number, counts: Uint32Array, reps: Float64Array): void {
  const v0 = raw[0]! | (raw[1]! << 8);
  const r0 = ((v0 << 1) | (v0 >>> 15)) & 0xffff;
  counts[v0 & 0xff]!++;
  counts[256 + (v0 >>> 8)]!++;
  counts[512 + (r0 & 0xff)]!++;
  counts[768 + (r0 >>> 8)]!++;
  let p0 = 0, p1 = 0, q0 = 0, q1 = 0;
  for (let i = step; i < n; i += step) {
    const j = 2 * i;
    const v = raw[j]! | (raw[j + 1]! << 8);
    const u = raw[j - 2]! | (raw[j - 1]! << 8);
    const r = ((v << 1) | (v >>> 15)) & 0xffff;
    const s = ((u << 1) | (u >>> 15)) & 0xffff;
    counts[v & 0xff]!++;
    counts[256 + (v >>> 8)]!++;
    counts[512 + (r & 0xff)]!++;
    counts[768 + (r >>> 8)]!++;
    if (((v ^ u) & 0xff) === 0) p0++;
    if ((v ^ u) >>> 8 === 0) p1++;
    if (((r ^ s) & 0xff) === 0) q0++;
    if ((r ^ s) >>> 8 === 0) q1++;
  }
  reps[0] = p0;
  reps[1] = p1;
  reps[2] = q0;
  reps[3] = q1;
}

function sample4(raw: Uint8Array, n: number, step: number, counts: Uint32Array, reps: Float64Array): void {
  const v0 = (raw[0]! | (raw[1]! << 8) | (raw[2]! << 16) | (raw[3]! << 24)) >>> 0;
  const r0 = ((v0 << 1) | (v0 >>> 31)) >>> 0;
  for (let p = 0, sh = 0; p < 4; p++, sh += 8) {
    counts[256 * p + ((v0 >>> sh) & 0xff)]!++;
    counts[1024 + 256 * p + ((r0 >>> sh) & 0xff)]!++;
  }
  for (let i = step; i < n; i += step) {
    const j = 4 * i;
    const v = raw[j]! | (raw[j + 1]! << 8) | (raw[j + 2]! << 16) | (raw[j + 3]! << 24);
    const u = raw[j - 4]! | (raw[j - 3]! << 8) | (raw[j - 2]! << 16) | (raw[j - 1]! << 24);
    const r = (v << 1) | (v >>> 31);
    const s = (u << 1) | (u >>> 31);
    const d = v ^ u, e = r ^ s;
    counts[v & 0xff]!++;
    counts[256 + ((v >>> 8) & 0xff)]!++;
    counts[512 + ((v >>> 16) & 0xff)]!++;
    counts[768 + (v >>> 24)]!++;
    counts[1024 + (r & 0xff)]!++;
    counts[1280 + ((r >>> 8) & 0xff)]!++;
    counts[1536 + ((r >>> 16) & 0xff)]!++;
    counts[1792 + (r >>> 24)]!++;
    if ((d & 0xff) === 0) reps[0]!++;
    if ((d & 0xff00) === 0) reps[1]!++;
    if ((d & 0xff0000) === 0) reps[2]!++;
    if (d >>> 24 === 0) reps[3]!++;
    if ((e & 0xff) === 0) reps[4]!++;
    if ((e & 0xff00) === 0) reps[5]!++;
    if ((e & 0xff0000) === 0) reps[6]!++;
    if (e >>> 24 === 0) reps[7]!++;
  }
}

/**
 * The {@link planeStats} of every plane of both the plain and the rotated grouping of `raw`
 * (2- or 4-byte elements), taken from the raw bytes at the positions planeStats samples, so the
 * encoder chooses its layout before grouping once: the results equal planeStats of the grouped
 * planes exactly (test/codec/rotate-group.test.ts), so the choice of codes that follows is the
 * same whichever way they were taken.
 */
export function layoutStats(raw: Uint8Array, width: number): LayoutStats {
  checkWidth(width);
  const n = Math.floor(raw.byteLength / width);
  const plain: PlaneStats[] = [];
  const rotated: PlaneStats[] = [];
  if (n === 0) {
    for (let p = 0; p < width; p++) {
      plain.push(planeStats(new Uint8Array(0)));
      rotated.push(planeStats(new Uint8Array(0)));
    }
  } else {
    const counts = sampleCounts;
    counts.fill(0);
    const reps = sampleRepeats;
    reps.fill(0);
    if (width === 2) sample2(raw, n, sampleStep(n), counts, reps);
    else sample4(raw, n, sampleStep(n), counts, reps);
    const rot = 256 * width;
    for (let p = 0; p < width; p++) {
      plain.push(statsFromCounts(counts.subarray(256 * p, 256 * p + 256), reps[p]!, n));
      rotated.push(statsFromCounts(counts.subarray(rot + 256 * p, rot + 256 * p + 256), reps[width + p]!, n));
    }
  }
  const bounds = planeRanges(raw.byteLength, width);
  if (bounds.length > width) {
    const tail = planeStats(raw.subarray(width * n));
    plain.push(tail);
    rotated.push(tail);
  }
  return { plain, rotated };
}

/**
 * {@link groupRotated} into `out`, returning the {@link layoutStats} of `data` as well: the kernel
 * samples both layouts from each block of raw elements while the block is in its memory (sampling
 * the raw chunk from TypeScript, 16 Ki scattered positions, cost ~1 ms a chunk in cache misses).
 * The encoder groups float chunks once this way and regroups plainly only when the plain layout
 * wins (integers, some float16).
 */
export function groupRotatedStats(data: Uint8Array, width: number, out: Uint8Array): LayoutStats {
  checkWidth(width);
  const k = data.byteLength >= KERNEL_MIN_BYTES ? loadKernel('rotate-group') : undefined;
  if (!k) {
    groupRotatedJs(data, width, out);
    return layoutStats(data, width);
  }
  const n = Math.floor(data.byteLength / width);
  const step = sampleStep(n);
  const state = k.fn.layout_stats_reset!();
  let first = 0;
  runBlocked(k, width, data.byteLength, [[data, false]], [out, true], (x, o, bytes) => {
    k.fn.group_rotated_stats!(x[0]!, o, bytes, width, first, step);
    first += bytes / width;
  });
  const whole = n * width;
  out.set(data.subarray(whole), whole);
  const words = new Uint32Array(k.reserve(0).buffer, state, 2 * width * STATE_WORDS);
  const plain: PlaneStats[] = [];
  const rotated: PlaneStats[] = [];
  for (let p = 0; p < width; p++) {
    const a = p * STATE_WORDS, b = (width + p) * STATE_WORDS;
    plain.push(statsFromCounts(words.subarray(a, a + 256), words[a + 256]!, n));
    rotated.push(statsFromCounts(words.subarray(b, b + 256), words[b + 256]!, n));
  }
  if (data.byteLength > whole) {
    const tail = planeStats(data.subarray(whole));
    plain.push(tail);
    rotated.push(tail);
  }
  return { plain, rotated };
}
