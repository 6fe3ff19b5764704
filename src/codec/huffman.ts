/**
 * @module Canonical Huffman for one byte plane: a faster order-0 coder than rANS (rans.ts) for the
 * planes where whole-bit code lengths lose little (the exponent plane of trained weights: 1.2–2.7 %
 * larger than rANS). Decoding is a table lookup, a shift and an add per symbol on four independent
 * bit streams (the kernel's table yields up to three symbols per lookup).
 *
 * Payload layout (multi-byte integers little-endian):
 *
 *   byte 0        format: 1. An empty plane is the single byte 0x00 and nothing else.
 *   bytes 1..32   presence bitmap: bit (s & 7) of byte 1 + (s >> 3) is set iff symbol s occurs;
 *                 k ≥ 1 bits set
 *   ⌈k/2⌉ bytes   code lengths in ascending symbol order, 4 bits each, low nibble first (an unused
 *                 last high nibble is 0). With k ≥ 2 every length is 1..12 and the lengths form a
 *                 complete prefix code (Kraft sum exactly 1); with k = 1 the length is 0: the only
 *                 symbol costs no bits and every stream is empty
 *   u32           check of the plane (huffman-check.ts)
 *   u32 × 3       byte lengths of bit streams 0, 1, 2
 *   …             bit streams 0, 1, 2, 3, back to back; stream 3 runs to the end of the payload
 *
 * The plane of n bytes is cut into four segments of q = ⌈n/4⌉ bytes (the last ones shorter or
 * empty); stream w codes segment w. The codes are canonical (of one length consecutive in symbol
 * order, shorter lengths first, the first code all zeros) and written LSB-first: a code's first bit
 * is the lowest unused bit of the stream's current byte. A stream is ⌈bits/8⌉ bytes, its unused
 * high bits zero; a decoder that ends a stream elsewhere, or whose code runs past its stream's end,
 * was fed a corrupt payload.
 *
 * Huffman's prefix codes resynchronise, so a damaged stream often still decodes to the right
 * number of symbols; the check of the decoded plane (a Fletcher-style sum, huffman-check.ts)
 * catches it.
 *
 * Code lengths are limited to {@link MAX_LENGTH} bits by package-merge (huffman-lengths.ts), so the
 * decoder's table (2^11 u16 entries) stays in L1; the longest code present sets the table's size.
 * The per-symbol loops run in WebAssembly (huffman-kernel.ts, wasm/huffman.c) for planes of
 * {@link KERNEL_MIN_BYTES} to 64 MiB when kernels are enabled; the loops here are the reference and
 * the fallback, and produce the same bytes. The lengths, codes, tables and every check of the header
 * are here for both.
 */
import { EngramError } from '../errors/index.ts';
import { planeCheck } from './huffman-check.ts';
import { canonicalCodes, decodeTable, limitedLengths } from './huffman-lengths.ts';
import { huffmanKernel, huffmanKernelFor, kernelDecode, kernelEncode, kernelHistogram } from './huffman-kernel.ts';
import type { HuffmanKernel } from './huffman-kernel.ts';

/**
 * Longest code the encoder makes, chosen by measurement on the exponent planes of W1: 11 bits costs
 * 0.1–0.3 % over unlimited code lengths, 12 bits 0.05–0.15 % but decodes ~10 % slower (fewer
 * lookups per 64-bit load, a table twice the size); 10 bits costs 0.4–0.75 %.
 */
const MAX_LENGTH = 11;
/** Longest code the format allows: the decoder's table has at most 2^12 entries. */
const FORMAT_MAX_LENGTH = 12;
/** Streams, each coding a quarter of the plane. Part of the payload format. */
const WAYS = 4;
/** Largest plane accepted (1 GiB, the chunk limit). */
const MAX_PLANE_BYTES = 1 << 30;

// Scratch reused across calls: both entry points are synchronous and never re-entered.
/** Per segment (256 each), then the sum: the histogram. */
const counts = new Uint32Array(256 * (WAYS + 1));
const lengths = new Uint8Array(256);
/** Per symbol: bit-reversed canonical code | length << 16. */
const codes = new Uint32Array(256);
const table = new Uint16Array(1 << FORMAT_MAX_LENGTH);
/** Per stream: byte length; then start and end offsets in the payload. */
const streamBytes = new Float64Array(WAYS);
const streamStart = new Float64Array(WAYS);
const streamEnd = new Float64Array(WAYS);


function corrupt(reason: string): EngramError {
  return new EngramError('IntegrityMismatch', `Huffman payload is corrupt: ${reason}`, { reason });
}

/** Where segment w of a plane of n bytes starts: min(n, w·⌈n/4⌉) (segment w ends where w + 1 starts). */
function segmentStart(n: number, w: number): number {
  return Math.min(n, w * Math.ceil(n / WAYS));
}

/**
 * Fills counts[256·w + s] with the histogram of segment w, and counts[1024 + s] with the plane's;
 * returns the number of distinct symbols. The four segments are walked together, so that a run of
 * one symbol does not serialise on one counter.
 */
function histogram(plane: Uint8Array): number {
  counts.fill(0);
  const n = plane.byteLength;
  const q = Math.ceil(n / WAYS);
  const s1 = segmentStart(n, 1), s2 = segmentStart(n, 2), s3 = segmentStart(n, 3);
  const common = n - s3; // the last segment is the shortest
  for (let i = 0; i < common; i++) {
    counts[plane[i]!]++;
    counts[256 + plane[s1 + i]!]++;
    counts[512 + plane[s2 + i]!]++;
    counts[768 + plane[s3 + i]!]++;
  }
  for (let w = 0; w < WAYS - 1; w++) {
    const from = segmentStart(n, w) + common;
    const to = Math.min(n, segmentStart(n, w) + q);
    for (let i = from; i < to; i++) counts[256 * w + plane[i]!]++;
  }
  let k = 0;
  for (let s = 0; s < 256; s++) {
    const c = counts[s]! + counts[256 + s]! + counts[512 + s]! + counts[768 + s]!;
    counts[1024 + s] = c;
    if (c > 0) k++;
  }
  return k;
}

/** Header bytes before the streams for k distinct symbols. */
function headerLength(k: number): number {
  return 1 + 32 + ((k + 1) >> 1) + 4 + 4 * (WAYS - 1);
}

/**
 * Codes plane[from, to) into out[at…] LSB-first with {@link codes}; returns the end. Stores run up to
 * two bytes past the stream's end: they land in the next stream's bytes, written after this one,
 * or past the end of `out`, where typed-array stores are dropped.
 */
function encodeStream(plane: Uint8Array, from: number, to: number, out: Uint8Array, at: number): number {
  let acc = 0, nb = 0, o = at, c = 0, i = from;
  // Two codes of ≤ 12 bits on top of ≤ 7 pending bits fit 31 bits.
  for (; i + 2 <= to; i += 2) {
    c = codes[plane[i]!]!;
    acc |= (c & 0xffff) << nb;
    nb += c >>> 16;
    c = codes[plane[i + 1]!]!;
    acc |= (c & 0xffff) << nb;
    nb += c >>> 16;
    out[o] = acc;
    out[o + 1] = acc >>> 8;
    out[o + 2] = acc >>> 16;
    const k = nb >> 3;
    o += k;
    acc >>>= k << 3;
    nb &= 7;
  }
  if (i < to) {
    c = codes[plane[i]!]!;
    acc |= (c & 0xffff) << nb;
    nb += c >>> 16;
  }
  for (; nb > 0; nb -= 8, acc >>>= 8) out[o++] = acc;
  return o;
}

/** The bytes of the streams of segment w at the code lengths in {@link lengths}. */
function streamLength(w: number): number {
  let bits = 0;
  for (let s = 0; s < 256; s++) bits += counts[256 * w + s]! * lengths[s]!;
  return Math.ceil(bits / 8);
}

/**
 * Encodes a byte plane with canonical Huffman codes of at most 11 bits (layout in the module
 * comment). Overhead is 49 bytes plus half a byte per distinct symbol; a single-symbol plane is
 * only that header. Near-random planes come out larger than the input: the caller should then
 * keep the raw bytes.
 *
 * @example
 * const payload = huffmanEncode(plane);
 * huffmanDecode(payload, plane.byteLength, into);
 */
export function huffmanEncode(plane: Uint8Array): Uint8Array {
  return encode(plane, Infinity, huffmanKernelFor(plane.byteLength))!;
}

/**
 * {@link huffmanEncode}, or undefined when the payload would exceed `maxBytes`: its size is known
 * exactly from the histogram and the code lengths, before any symbol is coded. `into`, when given,
 * supplies the payload's buffer (of exactly the length asked; its contents are overwritten): the
 * chunk codec passes recycled memory, because a fresh buffer's first touch costs more than the
 * copy it is then written out with.
 */
export function huffmanEncodeWithin(plane: Uint8Array, maxBytes: number, into?: (length: number) => Uint8Array): Uint8Array | undefined {
  return encode(plane, maxBytes, huffmanKernelFor(plane.byteLength), into);
}

/** Which loops {@link huffmanEncodeWith} and {@link huffmanDecodeWith} run. */
export type HuffmanLoops = 'js' | 'wasm';

/**
 * {@link huffmanEncode} on the given loops whatever the plane's size: the TypeScript reference, or
 * the WebAssembly kernel (`Unsupported` when it cannot run here). For the differential tests and the
 * benchmark; both give the same bytes.
 */
export function huffmanEncodeWith(loops: HuffmanLoops, plane: Uint8Array): Uint8Array {
  return encode(plane, Infinity, loops === 'js' ? undefined : requireKernel())!;
}

function requireKernel(): HuffmanKernel {
  const k = huffmanKernel();
  if (!k) throw new EngramError('Unsupported', 'the Huffman WebAssembly kernel cannot run here (ENGRAM_KERNELS=js, or no WebAssembly SIMD)', {});
  return k;
}

function encode(plane: Uint8Array, maxBytes: number, kernel: HuffmanKernel | undefined, into?: (length: number) => Uint8Array): Uint8Array | undefined {
  const n = plane.byteLength;
  if (n > MAX_PLANE_BYTES) {
    throw new EngramError('InvalidArgument', `Huffman plane of ${n} bytes exceeds the ${MAX_PLANE_BYTES}-byte limit`, { length: n });
  }
  if (n === 0) return maxBytes >= 1 ? new Uint8Array(1) : undefined;
  let check = kernel ? kernelHistogram(kernel, plane, counts) : -1;
  let k: number;
  if (check < 0) {
    kernel = undefined; // no kernel, or its memory cannot grow to this plane
    k = histogram(plane);
    check = planeCheck(plane);
  } else {
    k = 0;
    for (let s = 0; s < 256; s++) if (counts[1024 + s]! > 0) k++;
  }
  const total = counts.subarray(1024);
  if (k === 1) lengths.fill(0);
  else {
    limitedLengths(total, MAX_LENGTH, lengths);
    canonicalCodes(lengths, MAX_LENGTH, codes);
  }
  const head = headerLength(k);
  let size = head;
  for (let w = 0; w < WAYS; w++) {
    streamBytes[w] = streamLength(w);
    size += streamBytes[w]!;
  }
  if (size > maxBytes) return undefined;

  let out: Uint8Array;
  if (into) {
    out = into(size);
    out.fill(0); // the header's bitmap and lengths, and the TypeScript streams, are ORed in
  } else out = new Uint8Array(size);
  out[0] = 1;
  let at = 33;
  let nibble = 0;
  for (let s = 0; s < 256; s++) {
    if (total[s] === 0) continue;
    out[1 + (s >> 3)] |= 1 << (s & 7);
    out[at] |= lengths[s]! << (4 * nibble);
    at += nibble;
    nibble ^= 1;
  }
  at += nibble;
  const view = new DataView(out.buffer);
  view.setUint32(at, check, true);
  for (let w = 0; w < WAYS - 1; w++) view.setUint32(at + 4 + 4 * w, streamBytes[w]!, true);
  at += 4 * WAYS;
  if (k === 1) return out;
  if (!kernel || !kernelEncode(kernel, n, codes, streamBytes, out, at)) {
    for (let w = 0; w < WAYS; w++) {
      const end = encodeStream(plane, segmentStart(n, w), segmentStart(n, w + 1), out, at);
      if (end !== at + streamBytes[w]!) throw new Error(`Huffman stream ${w} came out ${end - at} bytes, expected ${streamBytes[w]}`);
      at = end;
    }
  }
  return out;
}

/** The byte at `a` of the payload, or 0 at or past `end`. */
function byteBefore(payload: Uint8Array, a: number, end: number): number {
  return a < end ? payload[a]! : 0;
}

/**
 * Decodes out[from, to) from the stream payload[start, end) with {@link table} of `bits` bits.
 * Throws when a code runs past the stream's end, or when the stream does not end with the last
 * code (bytes left over, or nonzero padding bits).
 */
function decodeStream(payload: Uint8Array, start: number, end: number, out: Uint8Array, from: number, to: number, bits: number, w: number): void {
  const mask = (1 << bits) - 1;
  let a = start, b = 0, i = from;
  // Runs of two symbols per step while the stream provably has the bits for the whole run: a step
  // takes at most 2·bits bits, and ends no later than 4 bytes before the stream's end, so the
  // 4-byte loads stay inside the payload and need no check.
  for (;;) {
    const steps = Math.min((to - i) >> 1, Math.floor(((end - 4 - a) * 8 - b) / (2 * bits)));
    if (steps <= 0) break;
    for (const stop = i + 2 * steps; i < stop; i += 2) {
      let v = (payload[a]! | (payload[a + 1]! << 8) | (payload[a + 2]! << 16) | (payload[a + 3]! << 24)) >>> b;
      const e = table[v & mask]!;
      out[i] = e;
      v >>>= e >>> 8;
      const f = table[v & mask]!;
      out[i + 1] = f;
      const t = b + (e >>> 8) + (f >>> 8);
      a += t >> 3;
      b = t & 7;
    }
  }
  // The rest one symbol at a time, every code checked against the stream's end.
  for (; i < to; i++) {
    const v = (byteBefore(payload, a, end) | (byteBefore(payload, a + 1, end) << 8) | (byteBefore(payload, a + 2, end) << 16)) >>> b;
    const e = table[v & mask]!;
    const t = b + (e >>> 8);
    if (a + t / 8 > end) throw corrupt(`stream ${w} runs past its end`);
    out[i] = e;
    a += t >> 3;
    b = t & 7;
  }
  if ((b === 0 ? a : a + 1) !== end || (b !== 0 && payload[a]! >> b !== 0)) {
    throw corrupt(`stream ${w} does not end with its last code`);
  }
}

/**
 * Decodes a {@link huffmanEncode} payload into `into`, which must be `outLength` bytes. Any
 * malformation — truncation, a bad format byte, lengths that do not form a complete code, a stream
 * that runs short or has bytes left over, a plane whose check differs, trailing bytes — throws
 * `IntegrityMismatch`. It never reads past the payload, runs at most `outLength` steps, and
 * allocates nothing. After a throw, `into` may hold partly decoded bytes.
 *
 * @throws EngramError `InvalidArgument` when `outLength` is not a byte count or `into` has the
 *   wrong length (misuse, not corruption).
 *
 * @example
 * huffmanDecode(payload, planeLength, grouped.subarray(at, at + planeLength));
 */
export function huffmanDecode(payload: Uint8Array, outLength: number, into: Uint8Array): void {
  decode(payload, outLength, into, huffmanKernelFor(outLength));
}

/** {@link huffmanDecode} on the given loops whatever the plane's size (see {@link huffmanEncodeWith}). */
export function huffmanDecodeWith(loops: HuffmanLoops, payload: Uint8Array, outLength: number, into: Uint8Array): void {
  decode(payload, outLength, into, loops === 'js' ? undefined : requireKernel());
}

function decode(payload: Uint8Array, outLength: number, into: Uint8Array, kernel: HuffmanKernel | undefined): void {
  if (!Number.isSafeInteger(outLength) || outLength < 0 || outLength > MAX_PLANE_BYTES) {
    throw new EngramError('InvalidArgument', `Huffman output length ${outLength} is not a byte count up to ${MAX_PLANE_BYTES}`, { outLength });
  }
  if (into.byteLength !== outLength) {
    throw new EngramError('InvalidArgument', `Huffman output buffer is ${into.byteLength} bytes, expected ${outLength}`, { outLength, buffer: into.byteLength });
  }
  const len = payload.byteLength;
  if (len === 0) throw corrupt('empty payload');
  const format = payload[0]!;
  if (outLength === 0) {
    if (format !== 0 || len !== 1) throw corrupt('an empty plane must be the single byte 0x00');
    return;
  }
  if (format !== 1) throw corrupt(`bad format byte ${format}`);
  if (len < 33) throw corrupt('truncated in the symbol bitmap');
  let k = 0;
  for (let j = 1; j < 33; j++) for (let v = payload[j]!; v !== 0; v &= v - 1) k++;
  if (k === 0) throw corrupt('no symbol present');
  const head = headerLength(k);
  if (len < head) throw corrupt('truncated in the header');
  let at = 33;
  let nibble = 0;
  let longest = 0;
  let only = 0;
  for (let s = 0; s < 256; s++) {
    if ((payload[1 + (s >> 3)]! & (1 << (s & 7))) === 0) {
      lengths[s] = 0;
      continue;
    }
    const l = (payload[at]! >> (4 * nibble)) & 15;
    at += nibble;
    nibble ^= 1;
    if (k === 1 ? l !== 0 : l === 0 || l > FORMAT_MAX_LENGTH) throw corrupt(`symbol ${s} has code length ${l}`);
    lengths[s] = l;
    if (l > longest) longest = l;
    only = s;
  }
  if (nibble === 1 && payload[at]! >> 4 !== 0) throw corrupt('unused length nibble is not 0');
  at += nibble;
  const view = new DataView(payload.buffer, payload.byteOffset, len);
  const check = view.getUint32(at, true);
  at += 4 * WAYS;
  let rest = len - head;
  for (let w = 0; w < WAYS; w++) {
    const bytes = w < WAYS - 1 ? view.getUint32(head - 4 * (WAYS - 1) + 4 * w, true) : rest;
    if (bytes > rest) throw corrupt(`stream ${w} runs past the end of the payload`);
    // A segment of m symbols needs at most ⌈m·12/8⌉ bytes.
    const m = segmentStart(outLength, w + 1) - segmentStart(outLength, w);
    if (bytes > Math.ceil((m * FORMAT_MAX_LENGTH) / 8)) throw corrupt(`stream ${w} is longer than ${m} symbols can need`);
    if (k === 1 && bytes !== 0) throw corrupt(`stream ${w} is not empty, but the only symbol costs no bits`);
    streamStart[w] = at;
    at += bytes;
    streamEnd[w] = at;
    rest -= bytes;
  }
  if (k === 1) {
    into.fill(only);
  } else {
    if (!canonicalCodes(lengths, longest, codes)) throw corrupt('code lengths do not form a complete prefix code');
    decodeTable(codes, lengths, longest, table);
    // ≥ 0 decoded, and the plane's check; −1 no kernel or no memory; else −2 − the failing status.
    const status = kernel ? kernelDecode(kernel, payload, into, table, longest, streamStart, streamEnd) : -1;
    if (status >= 0) {
      if (status !== check) throw corrupt('the decoded plane fails its check');
      return;
    }
    if (status < -1) {
      const w = (-2 - status) & 3;
      throw corrupt(-2 - status < WAYS ? `stream ${w} runs past its end` : `stream ${w} does not end with its last code`);
    }
    for (let w = 0; w < WAYS; w++) {
      decodeStream(payload, streamStart[w]!, streamEnd[w]!, into, segmentStart(outLength, w), segmentStart(outLength, w + 1), longest, w);
    }
  }
  if (planeCheck(into) !== check) throw corrupt('the decoded plane fails its check');
}
