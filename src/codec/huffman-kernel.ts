/**
 * @module The WebAssembly side of codec/huffman.ts: runs the Huffman coder's per-symbol loops
 * (segment histograms and the plane check, the encoder, the decoder) in src/codec/wasm/huffman.c.
 * huffman.ts keeps the payload format, the code lengths, the codes and the decoder's table, and
 * every check of the header, and calls in here for the loops; the TypeScript loops stay the
 * reference and the fallback (`ENGRAM_KERNELS=js`, runtimes without WebAssembly SIMD, planes
 * outside [{@link KERNEL_MIN_BYTES}, {@link KERNEL_MAX_BYTES}]).
 *
 * Scratch layout in the kernel's memory, from `base` (heapBase rounded up to 16):
 *
 *   base          u32 × 16     io: stream offsets, ends, lengths, the check
 *   base + 64     8 KiB        encoder: the codes (u32 × 256); decoder: the table (u16 × 2^bits)
 *   base + 8256   u32 × 1024   the four segments' histograms
 *   base + 12352  …            encoder: the plane, then one region per stream
 *                              decoder: the payload and 16 zero bytes, then the output plane
 */
import { align16, bindKernel, reserveScratch } from './wasm/index.ts';
import type { KernelScratch } from './wasm/index.ts';

/**
 * Smallest plane handed to the kernel: below it the copies in and out and the call cost as much as
 * the loops save (measured on skewed planes: the encoders cross at ~512 bytes, ~15 µs either way;
 * the kernel decodes a little faster from 128 bytes on, 1.2× at 512).
 */
export const KERNEL_MIN_BYTES = 512;
/** Largest plane handed to the kernel (64 MiB), as for rANS: a module's memory never shrinks. */
export const KERNEL_MAX_BYTES = 1 << 26;

const IO = 0;
const TABLE = 64;
const COUNTS = TABLE + 8192;
const DATA = COUNTS + 4096;
/** Bytes past a region that the kernel's 8-byte loads and stores may touch. */
const SLACK = 16;

/** The kernel and views of its memory (see wasm/kernel-scratch.ts). */
export type HuffmanKernel = KernelScratch;

let bound: HuffmanKernel | null | undefined;

/** The Huffman kernel for a plane of `n` bytes, or undefined when the TypeScript loops should run. */
export function huffmanKernelFor(n: number): HuffmanKernel | undefined {
  return n < KERNEL_MIN_BYTES || n > KERNEL_MAX_BYTES ? undefined : huffmanKernel();
}

/** The Huffman kernel whatever the plane's size, or undefined when kernels are off or unsupported. */
export function huffmanKernel(): HuffmanKernel | undefined {
  if (bound === undefined) bound = bindKernel('huffman') ?? null;
  return bound ?? undefined;
}

/** Makes sure [base, base + DATA + bytes) exists and the views see it; false when memory cannot grow. */
function reserve(b: HuffmanKernel, bytes: number): boolean {
  return reserveScratch(b, DATA + bytes);
}

/**
 * Copies `plane` into the kernel's memory (where {@link kernelEncode} then codes it), fills
 * `counts[256·w + s]` with segment w's histogram and `counts[1024 + s]` with the plane's, and
 * returns the plane's check; −1 (and nothing done) when the kernel's memory cannot hold the plane.
 */
export function kernelHistogram(b: HuffmanKernel, plane: Uint8Array, counts: Uint32Array): number {
  const n = plane.byteLength;
  if (!reserve(b, align16(n) + SLACK)) return -1;
  b.bytes.set(plane, b.base + DATA);
  const check = b.kernel.fn.huffman_histogram!(b.base + DATA, n, b.base + COUNTS) >>> 0;
  const at = (b.base + COUNTS) >> 2;
  counts.set(b.u32.subarray(at, at + 1024));
  for (let s = 0; s < 256; s++) counts[1024 + s] = counts[s]! + counts[256 + s]! + counts[512 + s]! + counts[768 + s]!;
  return check;
}

/**
 * Codes the plane of `n` bytes that {@link kernelHistogram} copied in with `codes` (code | length
 * << 16, at most 12 bits, 0 for absent symbols) into `out[at…]`, stream after stream, each of the byte length in `bytes`
 * (which the caller computed from the histogram; a kernel that disagrees is a bug, thrown as such).
 * Returns false (and nothing written) when the memory cannot grow to the streams.
 */
export function kernelEncode(b: HuffmanKernel, n: number, codes: Uint32Array, bytes: Float64Array, out: Uint8Array, at: number): boolean {
  const regions = DATA + align16(n) + SLACK;
  let need = align16(n) + SLACK;
  for (let w = 0; w < 4; w++) need += align16(bytes[w]!) + SLACK;
  if (!reserve(b, need)) return false;
  const c = (b.base + TABLE) >> 2;
  b.u32.set(codes, c);
  const io = (b.base + IO) >> 2;
  for (let w = 0, off = b.base + regions; w < 4; w++) {
    b.u32[io + w] = off;
    off += align16(bytes[w]!) + SLACK;
  }
  b.kernel.fn.huffman_encode!(b.base + TABLE, b.base + DATA, n, b.base + IO);
  for (let w = 0; w < 4; w++) {
    const from = b.u32[io + w]!;
    const len = b.u32[io + 4 + w]!;
    if (len !== bytes[w]) throw new Error(`Huffman kernel: stream ${w} came out ${len} bytes, expected ${bytes[w]}`);
    out.set(b.bytes.subarray(from, from + len), at);
    at += len;
  }
  return true;
}

/**
 * Decodes `out.byteLength` symbols from `payload` whose streams are the byte ranges [start, end),
 * with the decoder `table` of 2^bits entries (a complete code of at least two symbols). Returns
 * the decoded plane's check (≥ 0) and fills `out`; or −2 − status when a stream failed (status w:
 * stream w ran past its end; 4 + w: it did not end with its last code), `out` then left as it was;
 * or −1 (nothing done) when the kernel's memory cannot hold the payload and the plane.
 */
export function kernelDecode(b: HuffmanKernel, payload: Uint8Array, out: Uint8Array, table: Uint16Array, bits: number, start: Float64Array, end: Float64Array): number {
  const len = payload.byteLength;
  const n = out.byteLength;
  if (!reserve(b, align16(len + SLACK) + align16(n) + SLACK)) return -1;
  const src = b.base + DATA;
  const dst = src + align16(len + SLACK);
  b.bytes.set(payload, src);
  b.bytes.fill(0, src + len, src + len + SLACK);
  new Uint16Array(b.bytes.buffer, b.base + TABLE, 1 << bits).set(table.subarray(0, 1 << bits));
  const io = (b.base + IO) >> 2;
  for (let w = 0; w < 4; w++) {
    b.u32[io + w] = start[w]!;
    b.u32[io + 4 + w] = end[w]!;
  }
  const status = b.kernel.fn.huffman_decode!(b.base + TABLE, bits, src, dst, n, b.base + IO);
  if (status !== 0) return -2 - (status - 1);
  out.set(b.bytes.subarray(dst, dst + n));
  return b.u32[io + 8]!;
}
