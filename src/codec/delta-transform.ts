/**
 * @module Element-wise deltas of a chunk against its base (the same chunk of the parent snapshot).
 *
 * Consecutive checkpoints of a trained model differ by small updates. Subtracting the two bit
 * patterns as integers of the element's width and zigzag-mapping the difference turns a small change
 * into a small number whatever the carries do, so the high bytes of the result are almost all zero.
 * XOR, the other common choice, turns a carry across a byte boundary (0x3F7F → 0x3F80) into a large
 * value. Measured on shared/corpus/ckpt_seq (50 Adam steps apart), the order-0 entropy of the
 * byte-grouped result is 0.50 of raw for bf16 and 0.75 for fp32 with subtraction, against 0.54 and
 * 0.77 with XOR. For sign-magnitude floats the bit-pattern difference is monotonic in the value while
 * the sign stays the same, which is the common case for an update.
 *
 * Widths 1, 2 and 4 subtract; other widths (8-byte f64/i64, opaque) use XOR, which needs no carries
 * across 32-bit halves. Bytes past the last whole element are XORed.
 *
 * Large inputs run in the `delta` WebAssembly kernel (wasm/delta.c, SIMD), which also fuses the
 * delta with byte grouping the way the chunk codec uses them (delta then group on encode, ungroup
 * then undo on decode); the TypeScript loops are the reference and the fallback.
 */
import { groupBytesJs, KERNEL_MIN_BYTES, planeRanges, runBlocked, ungroupBytesJs, withTail } from './byte-group.ts';
import { planeStats, type PlaneStats } from './plane-stats.ts';
import { ScratchPool } from './scratch-pool.ts';
import { loadKernel } from './wasm/index.ts';

/** Which arithmetic a delta uses for a given element width. */
export function deltaKind(width: number): 'sub' | 'xor' {
  return width === 1 || width === 2 || width === 4 ? 'sub' : 'xor';
}

/**
 * Writes `delta(raw, base)` into `out` (all three the same length). The inverse is
 * {@link undoDelta}; `out` may not alias `raw` or `base`.
 */
export function applyDelta(raw: Uint8Array, base: Uint8Array, width: number, out: Uint8Array): Uint8Array {
  const k = raw.byteLength >= KERNEL_MIN_BYTES ? loadKernel('delta') : undefined;
  if (!k) return applyDeltaJs(raw, base, width, out);
  const sub = deltaKind(width) === 'sub' ? 1 : 0;
  runBlocked(k, width, raw.byteLength, [[raw, false], [base, false]], [out, false], ([r, b], o, bytes) => k.fn.apply_delta!(r!, b!, o, bytes, width, sub));
  return xorTail(raw, base, width, out);
}

/** Inverts {@link applyDelta}: writes the raw bytes into `out` (which may alias `delta`). */
export function undoDelta(delta: Uint8Array, base: Uint8Array, width: number, out: Uint8Array): Uint8Array {
  const k = delta.byteLength >= KERNEL_MIN_BYTES ? loadKernel('delta') : undefined;
  if (!k) return undoDeltaJs(delta, base, width, out);
  const sub = deltaKind(width) === 'sub' ? 1 : 0;
  runBlocked(k, width, delta.byteLength, [[delta, false], [base, false]], [out, false], ([d, b], o, bytes) => k.fn.undo_delta!(d!, b!, o, bytes, width, sub));
  return xorTail(delta, base, width, out);
}

/** Intermediate delta buffers of the TypeScript fused paths. */
const scratch = new ScratchPool();

/**
 * Writes `groupBytes(applyDelta(raw, base, width), width)` into `out` and returns the statistics
 * of its planes (as `groupBytesStats` does): the encoder's delta candidate in one pass, without
 * an intermediate buffer when the kernel runs. `width` must be at least 2.
 */
export function applyDeltaGrouped(raw: Uint8Array, base: Uint8Array, width: number, out: Uint8Array): PlaneStats[] {
  const n = raw.byteLength;
  const k = n >= KERNEL_MIN_BYTES ? loadKernel('delta') : undefined;
  if (!k) {
    const d = applyDeltaJs(raw, base, width, scratch.take(n));
    groupBytesJs(d, width, out);
    scratch.give(d);
    return planeRanges(n, width).map(([a, b]) => planeStats(out.subarray(a, b)));
  }
  const sub = deltaKind(width) === 'sub' ? 1 : 0;
  const stats = runBlocked(k, width, n, [[raw, false], [base, false]], [out, true], ([r, b], o, bytes) => k.fn.delta_group!(r!, b!, o, bytes, width, sub), true);
  return withTail(stats, xorTail(raw, base, width, out), width);
}

/**
 * Writes `undo(ungroupBytes(grouped, width), base)` into `out`, where undo is the `kind` delta
 * ('sub' is {@link undoDelta}; 'xor' the plain XOR of xor-delta chunks, whatever the width): the
 * decoder's last step in one pass. `out` may not alias `grouped`.
 */
export function undoDeltaGrouped(grouped: Uint8Array, base: Uint8Array, width: number, kind: 'sub' | 'xor', out: Uint8Array): Uint8Array {
  const n = grouped.byteLength;
  const k = n >= KERNEL_MIN_BYTES ? loadKernel('delta') : undefined;
  if (!k) {
    ungroupBytesJs(grouped, width, out);
    if (kind === 'sub') return undoDeltaJs(out, base, width, out);
    for (let i = 0; i < n; i++) out[i] = out[i]! ^ base[i]!;
    return out;
  }
  const sub = kind === 'sub' ? 1 : 0;
  runBlocked(k, width, n, [[grouped, true], [base, false]], [out, false], ([g, b], o, bytes) => k.fn.ungroup_undo!(g!, b!, o, bytes, width, sub));
  return xorTail(grouped, base, width, out);
}

/** Bytes past the last whole element are XORed by every delta (the kernels see whole elements). */
function xorTail(a: Uint8Array, base: Uint8Array, width: number, out: Uint8Array): Uint8Array {
  for (let i = a.byteLength - (a.byteLength % width); i < a.byteLength; i++) out[i] = a[i]! ^ base[i]!;
  return out;
}

/** The TypeScript reference of {@link applyDelta}. */
export function applyDeltaJs(raw: Uint8Array, base: Uint8Array, width: number, out: Uint8Array): Uint8Array {
  const n = raw.byteLength;
  let done = 0;
  if (deltaKind(width) === 'sub') {
    const count = Math.floor(n / width);
    if (width === 4 && aligned(raw, base, out, 4)) {
      const r = new Int32Array(raw.buffer, raw.byteOffset, count);
      const b = new Int32Array(base.buffer, base.byteOffset, count);
      const o = new Int32Array(out.buffer, out.byteOffset, count);
      for (let i = 0; i < count; i++) {
        const d = (r[i]! - b[i]!) | 0;
        o[i] = (d << 1) ^ (d >> 31);
      }
      done = count * 4;
    } else if (width === 2 && aligned(raw, base, out, 2)) {
      const r = new Uint16Array(raw.buffer, raw.byteOffset, count);
      const b = new Uint16Array(base.buffer, base.byteOffset, count);
      const o = new Uint16Array(out.buffer, out.byteOffset, count);
      for (let i = 0; i < count; i++) {
        const d = ((r[i]! - b[i]!) << 16) >> 16;
        o[i] = (d << 1) ^ (d >> 15);
      }
      done = count * 2;
    } else if (width === 1) {
      for (let i = 0; i < n; i++) {
        const d = ((raw[i]! - base[i]!) << 24) >> 24;
        out[i] = (d << 1) ^ (d >> 7);
      }
      done = n;
    } else {
      done = subUnaligned(raw, base, out, width, count);
    }
  }
  for (let i = done; i < n; i++) out[i] = raw[i]! ^ base[i]!;
  return out;
}

/** The TypeScript reference of {@link undoDelta}. */
export function undoDeltaJs(delta: Uint8Array, base: Uint8Array, width: number, out: Uint8Array): Uint8Array {
  const n = delta.byteLength;
  let done = 0;
  if (deltaKind(width) === 'sub') {
    const count = Math.floor(n / width);
    if (width === 4 && aligned(delta, base, out, 4)) {
      const z = new Int32Array(delta.buffer, delta.byteOffset, count);
      const b = new Int32Array(base.buffer, base.byteOffset, count);
      const o = new Int32Array(out.buffer, out.byteOffset, count);
      for (let i = 0; i < count; i++) {
        const v = z[i]!;
        o[i] = (b[i]! + ((v >>> 1) ^ -(v & 1))) | 0;
      }
      done = count * 4;
    } else if (width === 2 && aligned(delta, base, out, 2)) {
      const z = new Uint16Array(delta.buffer, delta.byteOffset, count);
      const b = new Uint16Array(base.buffer, base.byteOffset, count);
      const o = new Uint16Array(out.buffer, out.byteOffset, count);
      for (let i = 0; i < count; i++) {
        const v = z[i]!;
        o[i] = b[i]! + ((v >>> 1) ^ -(v & 1));
      }
      done = count * 2;
    } else if (width === 1) {
      for (let i = 0; i < n; i++) {
        const v = delta[i]!;
        out[i] = base[i]! + ((v >>> 1) ^ -(v & 1));
      }
      done = n;
    } else {
      done = unsubUnaligned(delta, base, out, width, count);
    }
  }
  for (let i = done; i < n; i++) out[i] = delta[i]! ^ base[i]!;
  return out;
}

function aligned(a: Uint8Array, b: Uint8Array, c: Uint8Array, width: number): boolean {
  return a.byteOffset % width === 0 && b.byteOffset % width === 0 && c.byteOffset % width === 0;
}

/** Little-endian element read for widths 2 and 4 when the views are not aligned. */
function readLE(a: Uint8Array, at: number, width: number): number {
  return width === 2 ? a[at]! | (a[at + 1]! << 8) : (a[at]! | (a[at + 1]! << 8) | (a[at + 2]! << 16) | (a[at + 3]! << 24)) >>> 0;
}

function writeLE(a: Uint8Array, at: number, width: number, v: number): void {
  a[at] = v & 0xff;
  a[at + 1] = (v >>> 8) & 0xff;
  if (width === 4) {
    a[at + 2] = (v >>> 16) & 0xff;
    a[at + 3] = (v >>> 24) & 0xff;
  }
}

function subUnaligned(raw: Uint8Array, base: Uint8Array, out: Uint8Array, width: number, count: number): number {
  const bits = 8 * width;
  for (let i = 0, at = 0; i < count; i++, at += width) {
    const d = ((readLE(raw, at, width) - readLE(base, at, width)) << (32 - bits)) >> (32 - bits);
    writeLE(out, at, width, (d << 1) ^ (d >> (bits - 1)));
  }
  return count * width;
}

function unsubUnaligned(delta: Uint8Array, base: Uint8Array, out: Uint8Array, width: number, count: number): number {
  for (let i = 0, at = 0; i < count; i++, at += width) {
    const v = readLE(delta, at, width);
    writeLE(out, at, width, (readLE(base, at, width) + ((v >>> 1) ^ -(v & 1))) | 0);
  }
  return count * width;
}
