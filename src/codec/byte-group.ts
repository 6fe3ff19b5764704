/**
 * @module Byte-grouping: plane k holds byte k of every element. In float weights the sign/exponent
 * bytes are highly repetitive while the low mantissa bytes are near random; separating them lets
 * zstd compress the former well and lets us skip the latter (what ZipNN does).
 *
 * Large inputs run in the `byte-group` WebAssembly kernel (wasm/byte-group.c, SIMD shuffles for
 * widths 2, 4 and 8); the TypeScript loops below are the reference and the fallback.
 */
import { planeStats, sampleStep, statsFromCounts, type PlaneStats } from './plane-stats.ts';
import { align16, loadKernel, type WasmKernel } from './wasm/index.ts';

/** Groups `data` into `width` planes; a tail shorter than one element follows the planes unchanged. */
export function groupBytes(data: Uint8Array, width: number, out: Uint8Array = new Uint8Array(data.byteLength)): Uint8Array {
  const k = width > 1 && data.byteLength >= KERNEL_MIN_BYTES ? loadKernel('byte-group') : undefined;
  if (!k) return groupBytesJs(data, width, out);
  runBlocked(k, width, data.byteLength, [[data, false]], [out, true], (x, o, bytes) => k.fn.group_bytes!(x[0]!, o, bytes, width));
  return copyTail(data, width, out);
}

/** Inverts {@link groupBytes}. */
export function ungroupBytes(grouped: Uint8Array, width: number, out: Uint8Array = new Uint8Array(grouped.byteLength)): Uint8Array {
  const k = width > 1 && grouped.byteLength >= KERNEL_MIN_BYTES ? loadKernel('byte-group') : undefined;
  if (!k) return ungroupBytesJs(grouped, width, out);
  runBlocked(k, width, grouped.byteLength, [[grouped, true]], [out, false], (x, o, bytes) => k.fn.ungroup_bytes!(x[0]!, o, bytes, width));
  return copyTail(grouped, width, out);
}

/**
 * Groups `data` into `out` like {@link groupBytes} and returns the {@link planeStats} of each
 * plane (then of the tail, when the length is not a multiple of `width`): the encoder's one pass
 * over a candidate payload. The kernel takes the statistics block by block as it groups.
 */
export function groupBytesStats(data: Uint8Array, width: number, out: Uint8Array): PlaneStats[] {
  const k = width > 1 && data.byteLength >= KERNEL_MIN_BYTES ? loadKernel('byte-group') : undefined;
  if (!k) {
    groupBytesJs(data, width, out);
    return planeRanges(data.byteLength, width).map(([a, b]) => planeStats(out.subarray(a, b)));
  }
  const stats = runBlocked(k, width, data.byteLength, [[data, false]], [out, true], (x, o, bytes) => k.fn.group_bytes!(x[0]!, o, bytes, width), true);
  copyTail(data, width, out);
  return withTail(stats, out, width);
}

/** Appends the tail's statistics (a few bytes, taken in TypeScript) to the planes' from a kernel. */
export function withTail(stats: PlaneStats[], grouped: Uint8Array, width: number): PlaneStats[] {
  const n = grouped.byteLength;
  if (n % width) stats.push(planeStats(grouped.subarray(n - (n % width))));
  return stats;
}

function copyTail(src: Uint8Array, width: number, out: Uint8Array): Uint8Array {
  const whole = src.byteLength - (src.byteLength % width);
  out.set(src.subarray(whole), whole);
  return out;
}

/** The `[start, end)` of each plane of a grouped buffer: `width` planes, then the tail if any. */
export function planeRanges(length: number, width: number): [number, number][] {
  const planeLength = Math.floor(length / width);
  const bounds: [number, number][] = [];
  for (let p = 0; p < width; p++) bounds.push([p * planeLength, (p + 1) * planeLength]);
  if (length % width) bounds.push([width * planeLength, length]);
  return bounds;
}

/**
 * Below this many bytes the TypeScript loops are used. bench/codec-kernels.ts measured the kernels
 * (copies included) ahead from 64 bytes on; the margin covers the dispatch's own overhead.
 */
export const KERNEL_MIN_BYTES = 256;
/**
 * Bytes per block of {@link runBlocked}: the inputs, the output and their copies stay in cache,
 * so memory is read and written once (a whole 4 MiB chunk per call ran at half the speed).
 */
const BLOCK_BYTES = 128 * 1024;
/** Words per plane of `block_stats`' running state: 256 counts, the repeats, the previous byte. */
const STATS_WORDS = 258;

/** One input or the output of {@link runBlocked}: its bytes and whether they are grouped in planes. */
export type BlockedBuffer = readonly [bytes: Uint8Array, grouped: boolean];

/**
 * Runs a kernel over the whole elements of `length` bytes of `width`-byte elements, one block of
 * elements at a time: each input's block is copied into the kernel's scratch (a grouped input's
 * plane segments side by side), `call(inputs, output, blockBytes)` runs on it, and the result is
 * copied out (plane segments to their planes when the output is grouped). Within a block, planes
 * are `blockBytes / width` apart, so the kernels' whole-buffer functions serve unchanged. Bytes
 * past the last whole element are the caller's. With `stats`, the output planes' statistics are
 * taken after each block (`block_stats`, the module must carry plane-histogram.c) and returned.
 */
export function runBlocked(k: WasmKernel, width: number, length: number, inputs: readonly BlockedBuffer[], output: BlockedBuffer, call: (inputs: number[], output: number, blockBytes: number) => void, stats = false): PlaneStats[] {
  const n = Math.floor(length / width);
  const per = Math.max(16, Math.floor(BLOCK_BYTES / width / 16) * 16);
  const region = align16(per * width);
  const at = inputs.map((_, i) => align16(k.heapBase) + i * region);
  const to = align16(k.heapBase) + inputs.length * region;
  const st = to + region;
  const mem = k.reserve(st - k.heapBase + (stats ? width * STATS_WORDS * 4 : 0));
  if (stats) mem.fill(0, st, st + width * STATS_WORDS * 4);
  const step = sampleStep(n);
  const [out, outGrouped] = output;
  for (let e = 0; e < n; e += per) {
    const cnt = Math.min(per, n - e);
    inputs.forEach(([src, grouped], i) => {
      if (!grouped) mem.set(src.subarray(e * width, (e + cnt) * width), at[i]!);
      else for (let p = 0; p < width; p++) mem.set(src.subarray(p * n + e, p * n + e + cnt), at[i]! + p * cnt);
    });
    call(at, to, cnt * width);
    if (stats) k.fn.block_stats!(to, cnt, width, e, step, st);
    if (!outGrouped) out.set(mem.subarray(to, to + cnt * width), e * width);
    else for (let p = 0; p < width; p++) out.set(mem.subarray(to + p * cnt, to + (p + 1) * cnt), p * n + e);
  }
  if (!stats) return [];
  const words = new Uint32Array(mem.buffer, st, width * STATS_WORDS);
  const result: PlaneStats[] = [];
  for (let p = 0; p < width; p++) result.push(statsFromCounts(words.subarray(p * STATS_WORDS, p * STATS_WORDS + 256), words[p * STATS_WORDS + 256]!, n));
  return result;
}

/** The TypeScript reference of {@link groupBytes} (and its fallback where no kernel runs). */
export function groupBytesJs(data: Uint8Array, width: number, out: Uint8Array = new Uint8Array(data.byteLength)): Uint8Array {
  const n = Math.floor(data.byteLength / width);
  if (width <= 1) {
    out.set(data);
    return out;
  }
  if ((width === 4 || width === 2) && n % 4 === 0 && data.byteOffset % 4 === 0 && out.byteOffset % 4 === 0) {
    if (width === 4) group4Words(data, out, n);
    else group2Words(data, out, n);
  } else if (width === 4) {
    const p1 = n, p2 = 2 * n, p3 = 3 * n;
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      out[i] = data[j]!;
      out[p1 + i] = data[j + 1]!;
      out[p2 + i] = data[j + 2]!;
      out[p3 + i] = data[j + 3]!;
    }
  } else if (width === 2) {
    for (let i = 0, j = 0; i < n; i++, j += 2) {
      out[i] = data[j]!;
      out[n + i] = data[j + 1]!;
    }
  } else {
    for (let k = 0; k < width; k++) {
      const base = k * n;
      for (let i = 0, j = k; i < n; i++, j += width) out[base + i] = data[j]!;
    }
  }
  out.set(data.subarray(n * width), n * width);
  return out;
}

/** The TypeScript reference of {@link ungroupBytes}. */
export function ungroupBytesJs(grouped: Uint8Array, width: number, out: Uint8Array = new Uint8Array(grouped.byteLength)): Uint8Array {
  const n = Math.floor(grouped.byteLength / width);
  if (width <= 1) {
    out.set(grouped);
    return out;
  }
  if ((width === 4 || width === 2) && n % 4 === 0 && grouped.byteOffset % 4 === 0 && out.byteOffset % 4 === 0) {
    if (width === 4) ungroup4Words(grouped, out, n);
    else ungroup2Words(grouped, out, n);
  } else if (width === 4) {
    const p1 = n, p2 = 2 * n, p3 = 3 * n;
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      out[j] = grouped[i]!;
      out[j + 1] = grouped[p1 + i]!;
      out[j + 2] = grouped[p2 + i]!;
      out[j + 3] = grouped[p3 + i]!;
    }
  } else if (width === 2) {
    for (let i = 0, j = 0; i < n; i++, j += 2) {
      out[j] = grouped[i]!;
      out[j + 1] = grouped[n + i]!;
    }
  } else {
    for (let k = 0; k < width; k++) {
      const base = k * n;
      for (let i = 0, j = k; i < n; i++, j += width) out[j] = grouped[base + i]!;
    }
  }
  out.set(grouped.subarray(n * width), n * width);
  return out;
}

// Word-at-a-time variants: four elements in, one 32-bit word per plane out (little-endian lanes).
// They run 2-3x faster than byte loops in V8; callers guarantee 4-byte alignment and n % 4 === 0.

function group4Words(data: Uint8Array, out: Uint8Array, n: number): void {
  const src = new Uint32Array(data.buffer, data.byteOffset, n);
  const dst = new Uint32Array(out.buffer, out.byteOffset, n);
  const q = n >>> 2;
  for (let j = 0, i = 0; j < q; j++, i += 4) {
    const a = src[i]!, b = src[i + 1]!, c = src[i + 2]!, d = src[i + 3]!;
    dst[j] = (a & 0xff) | ((b & 0xff) << 8) | ((c & 0xff) << 16) | ((d & 0xff) << 24);
    dst[q + j] = ((a >>> 8) & 0xff) | (b & 0xff00) | ((c & 0xff00) << 8) | ((d & 0xff00) << 16);
    dst[2 * q + j] = ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | (c & 0xff0000) | ((d & 0xff0000) << 8);
    dst[3 * q + j] = (a >>> 24) | ((b >>> 16) & 0xff00) | ((c >>> 8) & 0xff0000) | (d & 0xff000000);
  }
}

function ungroup4Words(grouped: Uint8Array, out: Uint8Array, n: number): void {
  const src = new Uint32Array(grouped.buffer, grouped.byteOffset, n);
  const dst = new Uint32Array(out.buffer, out.byteOffset, n);
  const q = n >>> 2;
  for (let j = 0, i = 0; j < q; j++, i += 4) {
    const p0 = src[j]!, p1 = src[q + j]!, p2 = src[2 * q + j]!, p3 = src[3 * q + j]!;
    dst[i] = (p0 & 0xff) | ((p1 & 0xff) << 8) | ((p2 & 0xff) << 16) | (p3 << 24);
    dst[i + 1] = ((p0 >>> 8) & 0xff) | (p1 & 0xff00) | ((p2 & 0xff00) << 8) | ((p3 & 0xff00) << 16);
    dst[i + 2] = ((p0 >>> 16) & 0xff) | ((p1 >>> 8) & 0xff00) | (p2 & 0xff0000) | ((p3 & 0xff0000) << 8);
    dst[i + 3] = (p0 >>> 24) | ((p1 >>> 16) & 0xff00) | ((p2 >>> 8) & 0xff0000) | (p3 & 0xff000000);
  }
}

function group2Words(data: Uint8Array, out: Uint8Array, n: number): void {
  const src = new Uint32Array(data.buffer, data.byteOffset, n >>> 1);
  const dst = new Uint32Array(out.buffer, out.byteOffset, n >>> 1);
  const q = n >>> 2;
  for (let j = 0, i = 0; j < q; j++, i += 2) {
    const a = src[i]!, b = src[i + 1]!;
    dst[j] = (a & 0xff) | ((a >>> 8) & 0xff00) | ((b & 0xff) << 16) | ((b & 0xff0000) << 8);
    dst[q + j] = ((a >>> 8) & 0xff) | ((a >>> 16) & 0xff00) | ((b & 0xff00) << 8) | (b & 0xff000000);
  }
}

function ungroup2Words(grouped: Uint8Array, out: Uint8Array, n: number): void {
  const src = new Uint32Array(grouped.buffer, grouped.byteOffset, n >>> 1);
  const dst = new Uint32Array(out.buffer, out.byteOffset, n >>> 1);
  const q = n >>> 2;
  for (let j = 0, i = 0; j < q; j++, i += 2) {
    const lo = src[j]!, hi = src[q + j]!;
    dst[i] = (lo & 0xff) | ((hi & 0xff) << 8) | ((lo & 0xff00) << 8) | ((hi & 0xff00) << 16);
    dst[i + 1] = ((lo >>> 16) & 0xff) | ((hi >>> 8) & 0xff00) | ((lo >>> 8) & 0xff0000) | ((hi >>> 24) << 24);
  }
}
