/**
 * @module The WebAssembly side of codec/rans.ts: runs the rANS coder's per-symbol loops (histogram,
 * encoder, slot table and decoder) in src/codec/wasm/rans.c, which includes plane-histogram.c.
 * rans.ts keeps the payload format, the frequency quantisation and every check of the header, and
 * calls in here for the loops; the TypeScript loops stay the reference and the fallback
 * (`ENGRAM_KERNELS=js`, runtimes without WebAssembly SIMD, planes outside
 * [{@link KERNEL_MIN_BYTES}, {@link KERNEL_MAX_BYTES}]).
 *
 * Scratch layout in the kernel's memory, from `base` (heapBase rounded up to 16):
 *
 *   base          u32 × 16   io: states, stream positions, stream ends
 *   base + 64     u32 × 256  frequencies
 *   base + 1088   u32 × 256  histogram
 *   base + 2112   …          encoder: the plane, then the word streams (4·r u16)
 *                            decoder: the payload, then the output plane
 */
import { align16, bindKernel, reserveScratch } from './wasm/index.ts';
import type { KernelScratch } from './wasm/index.ts';

/**
 * Smallest plane handed to the kernel: below it the copies in and out and the call cost as much as
 * the loops save (bench/rans-kernel.ts: the encoders cross at ~512 bytes, the decoders below 256).
 */
export const KERNEL_MIN_BYTES = 512;
/**
 * Largest plane handed to the kernel (64 MiB). A module's memory never shrinks, so a rare huge plane
 * (chunks are 4 MiB by default) would pin several times its size for the life of the thread; it
 * takes the TypeScript loops instead.
 */
export const KERNEL_MAX_BYTES = 1 << 26;

const IO = 0;
const FREQS = 64;
const COUNTS = FREQS + 1024;
const DATA = COUNTS + 1024;

/** The kernel and views of its memory (see wasm/kernel-scratch.ts). */
export type RansKernel = KernelScratch;

let bound: RansKernel | null | undefined;

/** The rANS kernel for a plane of `n` bytes, or undefined when the TypeScript loops should run. */
export function ransKernelFor(n: number): RansKernel | undefined {
  return n < KERNEL_MIN_BYTES || n > KERNEL_MAX_BYTES ? undefined : ransKernel();
}

/** The rANS kernel whatever the plane's size, or undefined when kernels are off or unsupported. */
export function ransKernel(): RansKernel | undefined {
  if (bound === undefined) bound = bindKernel('rans') ?? null;
  return bound ?? undefined;
}

/**
 * Makes sure [base, base + DATA + bytes) exists and that the views see the current memory; false
 * when the memory cannot grow that far (the caller then runs the TypeScript loops).
 */
function reserve(b: RansKernel, bytes: number): boolean {
  return reserveScratch(b, DATA + bytes);
}

/**
 * Copies `plane` into the kernel's memory (where {@link kernelEncode} then codes it, with room for
 * `4·r` words behind it) and fills `counts[0..255]` with its histogram; returns the number of
 * distinct symbols, or −1 (and nothing done) when the kernel's memory cannot hold the plane.
 */
export function kernelHistogram(b: RansKernel, plane: Uint8Array, r: number, counts: Uint32Array): number {
  const n = plane.byteLength;
  if (!reserve(b, align16(n) + 8 * r)) return -1;
  b.bytes.set(plane, b.base + DATA);
  b.kernel.fn.plane_histogram!(b.base + DATA, n, b.base + COUNTS);
  const at = (b.base + COUNTS) >> 2;
  let k = 0;
  for (let s = 0; s < 256; s++) {
    const c = b.u32[at + s]!;
    counts[s] = c;
    if (c > 0) k++;
  }
  return k;
}

/**
 * Encodes the plane of `n` bytes that {@link kernelHistogram} copied in, with `freqs` (summing to
 * 2^scale) and streams of `r` words each. Sets `state` to the final states and `pos` to each
 * stream's first word, and returns the word buffer (a view of the kernel's memory, valid until the
 * next call into the kernel).
 */
export function kernelEncode(b: RansKernel, n: number, scale: number, freqs: Uint32Array, r: number, state: Int32Array, pos: Int32Array): Uint16Array {
  const f = (b.base + FREQS) >> 2;
  for (let s = 0; s < 256; s++) b.u32[f + s] = freqs[s]!;
  const words = b.base + DATA + align16(n);
  b.kernel.fn.rans_encode!(b.base + FREQS, scale, b.base + DATA, n, words, r, b.base + IO);
  const io = (b.base + IO) >> 2;
  for (let w = 0; w < 4; w++) {
    state[w] = b.u32[io + w]!;
    pos[w] = b.u32[io + 4 + w]!;
  }
  return new Uint16Array(b.bytes.buffer, words, 4 * r);
}

/**
 * Decodes `out.byteLength` symbols (at least 1) from `payload` with `freqs` (at least two symbols,
 * summing to 2^scale), the initial states in `state` and the streams' byte ranges [pos, end) in the
 * payload. Leaves the final states and positions in `state` and `pos`. Returns −1, or the stream
 * that needed a word past its end (then `out` is left as it was), or −2 (and nothing done) when the
 * kernel's memory cannot hold the payload and the plane.
 */
export function kernelDecode(b: RansKernel, payload: Uint8Array, out: Uint8Array, scale: number, freqs: Uint32Array, state: Int32Array, pos: Int32Array, end: Int32Array): number {
  const len = payload.byteLength;
  const n = out.byteLength;
  if (!reserve(b, align16(len) + n)) return -2;
  const src = b.base + DATA;
  const dst = src + align16(len);
  b.bytes.set(payload, src);
  const f = (b.base + FREQS) >> 2;
  for (let s = 0; s < 256; s++) b.u32[f + s] = freqs[s]!;
  const io = (b.base + IO) >> 2;
  for (let w = 0; w < 4; w++) {
    b.u32[io + w] = state[w]!;
    b.u32[io + 4 + w] = pos[w]!;
    b.u32[io + 8 + w] = end[w]!;
  }
  const status = b.kernel.fn.rans_decode!(b.base + FREQS, scale, src, dst, n, b.base + IO);
  for (let w = 0; w < 4; w++) {
    state[w] = b.u32[io + w]!;
    pos[w] = b.u32[io + 4 + w]!;
  }
  if (status !== 0) return status - 1;
  out.set(b.bytes.subarray(dst, dst + n));
  return -1;
}
