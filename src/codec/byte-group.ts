/**
 * @module Byte-grouping: plane k holds byte k of every element. In float weights the sign/exponent
 * bytes are highly repetitive while the low mantissa bytes are near random; separating them lets
 * zstd compress the former well and lets us skip the latter (what ZipNN does).
 *
 * Large inputs run in the `byte-group` WebAssembly kernel (wasm/byte-group.c, SIMD shuffles for
 * widths 2, 4 and 8); the TypeScript loops below are the reference and the fallback.
 */
import { MAX_SAMPLES, planeStats, statsFromCounts, type PlaneStats } from './plane-stats.ts';
import { loadKernel, type WasmKernel } from './wasm/index.ts';


/** Groups `data` into `width` planes; a tail shorter than one element follows the planes unchanged. */
export function groupBytes(data: Uint8Array, width: number, out: Uint8Array = new Uint8Array(data.byteLength)): Uint8Array {
  const k = width > 1 && data.byteLength >= KERNEL_MIN_BYTES ? loadKernel('byte-group') : undefined;
  if (k) return inKernel(k, 'group_bytes', data, width, out);
  return groupBytesJs(data, width, out);
}

/** Inverts {@link groupBytes}. */
export function ungroupBytes(grouped: Uint8Array, width: number, out: Uint8Array = new Uint8Array(grouped.byteLength)): Uint8Array {
  const k = width > 1 && grouped.byteLength >= KERNEL_MIN_BYTES ? loadKernel('byte-group') : undefined;
  if (k) return inKernel(k, 'ungroup_bytes', grouped, width, out);
  return ungroupBytesJs(grouped, width, out);
}

/**
 * Groups `data` into `out` like {@link groupBytes} and returns the {@link planeStats} of each
 * plane (then of the tail, when the length is not a multiple of `width`): the encoder's one pass
 * over a candidate payload. The kernel takes the statistics while the planes are in its memory.
 */
export function groupBytesStats(data: Uint8Array, width: number, out: Uint8Array): PlaneStats[] {
  const k = width > 1 && data.byteLength >= KERNEL_MIN_BYTES ? loadKernel('byte-group') : undefined;
  if (!k) {
    groupBytesJs(data, width, out);
    return planeRanges(data.byteLength, width).map(([a, b]) => planeStats(out.subarray(a, b)));
  }
  const n = data.byteLength;
  const at = align16(k.heapBase), to = at + align16(n), st = to + align16(n);
  const planes = width + (n % width ? 1 : 0);
  const mem = k.reserve(st - k.heapBase + planes * STATS_WORDS * 4);
  mem.set(data, at);
  k.fn.group_bytes!(at, to, n, width);
  k.fn.grouped_stats!(to, n, width, MAX_SAMPLES, st);
  out.set(mem.subarray(to, to + n));
  return statsOfPlanes(mem, st, n, width);
}

/**
 * Reads the per-plane counts that plane-histogram.c's `grouped_stats` left at `at` in a kernel's
 * memory (257 words a plane: 256 counts, then the repeats) into {@link PlaneStats}.
 */
export function statsOfPlanes(mem: Uint8Array, at: number, length: number, width: number): PlaneStats[] {
  const words = new Uint32Array(mem.buffer, at, planeRanges(length, width).length * STATS_WORDS);
  return planeRanges(length, width).map(([a, b], p) => {
    const counts = words.subarray(p * STATS_WORDS, p * STATS_WORDS + 256);
    return statsFromCounts(counts, words[p * STATS_WORDS + 256]!, b - a);
  });
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
 * Below this many bytes the TypeScript loops win: the kernel pays two copies and a call. Measured
 * with bench/codec-kernels.ts (see docs/ARCHITECTURE.md, the chunk object).
 */
export const KERNEL_MIN_BYTES = 4096;
/** Words per plane in `grouped_stats`' output. */
const STATS_WORDS = 257;

/** Rounds a kernel-memory offset up to 16 bytes, the SIMD vector size. */
export function align16(n: number): number {
  return (n + 15) & ~15;
}

/** Runs one of the kernel's (src, dst, length, width) functions over a copy of `src` in its memory. */
function inKernel(k: WasmKernel, name: string, src: Uint8Array, width: number, out: Uint8Array): Uint8Array {
  const n = src.byteLength;
  const at = align16(k.heapBase), to = at + align16(n);
  const mem = k.reserve(to - k.heapBase + n);
  mem.set(src, at);
  k.fn[name]!(at, to, n, width);
  out.set(mem.subarray(to, to + n));
  return out;
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
