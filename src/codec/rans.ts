/**
 * @module Order-0 static rANS for one byte plane. The exponent plane of trained weights has one
 * symbol with p > 0.5, which Huffman (zstd's literals) must spend ≥ 1 bit on; rANS codes it in
 * −log2 p bits and so reaches the plane's order-0 entropy (within ~0.002 bit/byte on a 1 MiB plane).
 *
 * Payload layout (multi-byte integers little-endian; varints are unsigned LEB128 in canonical form,
 * i.e. no trailing 0x00 group):
 *
 *   byte 0        format: low 4 bits = `scale` (frequencies sum to 2^scale; 8..15), high 4 bits = 0.
 *                 An empty plane is the single byte 0x00 and nothing else.
 *   byte 1        k − 1, where k (1..256) is the number of distinct symbols
 *   bytes 2..33   presence bitmap: bit (s & 7) of byte 2 + (s >> 3) is set iff symbol s occurs;
 *                 exactly k bits set
 *   varint × k    frequencies in ascending symbol order, each 1..2^scale (≤ 3 bytes), summing to
 *                 exactly 2^scale
 *   u32 × 4       the decoder's initial states (the encoder's final states), each in [2^15, 2^31)
 *   varint × 3    lengths in 16-bit words of word streams 0, 1, 2 (≤ 5 bytes each)
 *   u16 × …       word streams 0, 1, 2, 3, back to back; stream 3 runs to the end of the payload,
 *                 each is read front to back by its state
 *
 * Symbol i of the plane is coded by state i mod 4, and each state has its own word stream, so the
 * four dependency chains are fully independent and the CPU overlaps them. States live in [L, 2^16·L)
 * with L = 2^15, always below 2^31, so every intermediate fits an int32 and V8 keeps it in a
 * register; renormalisation moves 16 bits at a time, which (as L ≥ 2^scale) is at most one word per
 * symbol, so it is done branch-free (the branch would be mispredicted on most planes).
 *
 * The encoder starts every state at L. A decoder that ends with any state ≠ L or with words left in
 * any stream, or that needs a word past a stream's end, was fed a corrupt payload; rANS is a
 * bijection, so a damaged stream or state almost never ends exactly at L with every stream consumed.
 *
 * The per-symbol loops run in WebAssembly (rans-kernel.ts, wasm/rans.c) for planes of 512 B to 64 MiB
 * when kernels are enabled; the loops here are the reference and the fallback, and produce the same
 * bytes. The table, its quantisation and every check of the header are here for both.
 */
import { EngramError } from '../errors/index.ts';
import { kernelDecode, kernelEncode, kernelHistogram, ransKernel, ransKernelFor } from './rans-kernel.ts';
import type { RansKernel } from './rans-kernel.ts';

/** Lower bound of the state interval; states live in [L, L·2^16). Part of the payload format. */
const L = 1 << 15;
/** Interleaved states, each with its own word stream. Part of the payload format. */
const WAYS = 4;
/** Bytes before the frequencies: format byte, symbol count, bitmap. */
const TABLE_HEAD = 2 + 32;
/** Smallest precision: 256 symbols must each get a frequency of at least 1. */
const MIN_SCALE = 8;
/** Largest precision the format allows: L must be a multiple of 2^scale. */
const FORMAT_MAX_SCALE = 15;
/** Largest plane accepted (1 GiB, the chunk limit): keeps every offset, payloads included, an int32. */
const MAX_PLANE_BYTES = 1 << 30;
/**
 * Precision the encoder uses for large planes, chosen by measurement (scratch/rans-speed.ts on 1 MiB
 * weight planes): at 2^13 the payload is within 0.002–0.004 bit/byte of the entropy, table included.
 * 2^12 loses more to frequency rounding on very skewed planes (0.009 against 0.0035 on an XOR-delta
 * plane); 2^14 and 2^15 lose more to rANS's own rounding, which grows as 2^scale nears L (0.005 at
 * 2^15), and their larger slot tables decode 3–5% slower.
 */
const MAX_SCALE = 13;

// Scratch reused across calls: both entry points are synchronous and never re-entered, and reuse
// spares small planes the cost of allocating and zeroing these tables on every call.
const counts = new Uint32Array(256 * 4);
const freqs = new Uint32Array(256);
const starts = new Uint32Array(256);
/** Encoder, per symbol: the bound at or above which a state must first shed its low word. */
const encMax = new Int32Array(256);
/** Encoder, per symbol: 1/freq nudged up so that `(x * rcp) | 0` is exactly ⌊x / freq⌋. */
const encRcp = new Float64Array(256);
/** Decoder, per slot (x mod 2^scale): the symbol. */
const slotSym = new Uint8Array(1 << FORMAT_MAX_SCALE);
/** Decoder, per slot: (freq << 16) | (slot − start of the symbol). */
const slotInfo = new Int32Array(1 << FORMAT_MAX_SCALE);
/** The four states, and per stream the read/write position and the end, between loop phases. */
const state = new Int32Array(WAYS);
const pos = new Int32Array(WAYS);
const end = new Int32Array(WAYS);
/**
 * Largest encoder word buffer kept between calls (8 MiB, enough for a 4 MiB plane). Touching a fresh
 * multi-megabyte buffer costs a page fault per 4 KiB, measured at 13–28% of the time to encode a
 * 1 MiB plane.
 */
const KEEP_WORDS = 1 << 22;
/** The encoder's word buffer, kept between calls (see {@link KEEP_WORDS}). */
let keptWords = new Uint16Array(0);
/** [value, next offset] of the last {@link readVarint}. */
const varint = new Float64Array(2);

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function corrupt(reason: string): EngramError {
  return new EngramError('IntegrityMismatch', `rANS payload is corrupt: ${reason}`, { reason });
}

/** Precision for a plane of `n` bytes: no finer than the plane needs, so small planes get small varints. */
function chooseScale(n: number): number {
  let s = MIN_SCALE;
  while (s < MAX_SCALE && 1 << s < n) s++;
  return s;
}

/** Fills `counts[0..255]` with the histogram of `plane` and returns the number of distinct symbols. */
function histogram(plane: Uint8Array): number {
  // Four sub-histograms, so that a run of one symbol does not serialise on one counter.
  counts.fill(0);
  const n = plane.byteLength;
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    counts[plane[i]!]++;
    counts[256 + plane[i + 1]!]++;
    counts[512 + plane[i + 2]!]++;
    counts[768 + plane[i + 3]!]++;
  }
  for (let i = n4; i < n; i++) counts[plane[i]!]++;
  let k = 0;
  for (let s = 0; s < 256; s++) {
    const c = counts[s]! + counts[256 + s]! + counts[512 + s]! + counts[768 + s]!;
    counts[s] = c;
    if (c > 0) k++;
  }
  return k;
}

/**
 * Quantises `counts` (summing to `n`) to `freqs` summing to 2^scale, every present symbol ≥ 1:
 * rounds, then moves the surplus or deficit one unit at a time to wherever it costs fewest bits, so
 * that the size stays within a hair of the entropy even when one symbol dominates.
 */
function quantise(n: number, scale: number): void {
  const total = 1 << scale;
  let sum = 0;
  for (let s = 0; s < 256; s++) {
    const c = counts[s]!;
    const f = c === 0 ? 0 : Math.max(1, Math.round((c * total) / n));
    freqs[s] = f;
    sum += f;
  }
  // At most ~384 steps (256 forced-up symbols plus half a unit of rounding each) of 256 candidates.
  while (sum !== total) {
    const up = sum < total;
    let best = -1;
    let bestCost = Infinity;
    for (let s = 0; s < 256; s++) {
      const c = counts[s]!;
      const f = freqs[s]!;
      if (c === 0 || (!up && f === 1)) continue;
      // Bits added to the plane by the change: c · log2(f / f').
      const cost = up ? -c * Math.log2((f + 1) / f) : c * Math.log2(f / (f - 1));
      if (cost < bestCost) {
        bestCost = cost;
        best = s;
      }
    }
    freqs[best] = freqs[best]! + (up ? 1 : -1);
    sum += up ? 1 : -1;
  }
}

/**
 * Encodes symbols [0, n4) (n4 a multiple of 4) with the states and write positions in `state` and
 * `pos`, last symbol first. Branch-free renormalisation: a state's low word is always stored below
 * its stream's write position, and kept (the position moved) only when the state must shrink.
 */
function encodeBody(plane: Uint8Array, n4: number, scale: number, words: Uint16Array): void {
  let x0 = state[0]!, x1 = state[1]!, x2 = state[2]!, x3 = state[3]!;
  let p0 = pos[0]!, p1 = pos[1]!, p2 = pos[2]!, p3 = pos[3]!;
  let s = 0, c = 0, q = 0;
  for (let i = n4 - 4; i >= 0; i -= 4) {
    // c = −1 when x < bound (keep x), 0 when x must shed its low word first.
    s = plane[i + 3]!;
    words[p3 - 1] = x3;
    c = (x3 - encMax[s]!) >> 31;
    p3 -= 1 + c;
    x3 >>>= ~c & 16;
    q = (x3 * encRcp[s]!) | 0;
    x3 = (q << scale) + (x3 - q * freqs[s]! + starts[s]!);

    s = plane[i + 2]!;
    words[p2 - 1] = x2;
    c = (x2 - encMax[s]!) >> 31;
    p2 -= 1 + c;
    x2 >>>= ~c & 16;
    q = (x2 * encRcp[s]!) | 0;
    x2 = (q << scale) + (x2 - q * freqs[s]! + starts[s]!);

    s = plane[i + 1]!;
    words[p1 - 1] = x1;
    c = (x1 - encMax[s]!) >> 31;
    p1 -= 1 + c;
    x1 >>>= ~c & 16;
    q = (x1 * encRcp[s]!) | 0;
    x1 = (q << scale) + (x1 - q * freqs[s]! + starts[s]!);

    s = plane[i]!;
    words[p0 - 1] = x0;
    c = (x0 - encMax[s]!) >> 31;
    p0 -= 1 + c;
    x0 >>>= ~c & 16;
    q = (x0 * encRcp[s]!) | 0;
    x0 = (q << scale) + (x0 - q * freqs[s]! + starts[s]!);
  }
  state[0] = x0; state[1] = x1; state[2] = x2; state[3] = x3;
  pos[0] = p0; pos[1] = p1; pos[2] = p2; pos[3] = p3;
}

/** Encodes symbols [from, n) one at a time, last first; the same arithmetic as {@link encodeBody}. */
function encodeTail(plane: Uint8Array, from: number, n: number, scale: number, words: Uint16Array): void {
  for (let i = n - 1; i >= from; i--) {
    const s = plane[i]!;
    const w = i & 3;
    let x = state[w]!;
    if (x >= encMax[s]!) {
      words[--pos[w]!] = x;
      x >>>= 16;
    }
    const q = (x * encRcp[s]!) | 0;
    state[w] = (q << scale) + (x - q * freqs[s]! + starts[s]!);
  }
}

/** A word buffer of at least `size` words; its contents are garbage. */
function wordScratch(size: number): Uint16Array {
  if (size <= keptWords.length) return keptWords;
  const words = new Uint16Array(size);
  if (size <= KEEP_WORDS) keptWords = words;
  return words;
}

function varintLength(v: number): number {
  let n = 1;
  for (; v >= 0x80; v = Math.floor(v / 128)) n++;
  return n;
}

function writeVarint(out: Uint8Array, at: number, v: number): number {
  for (; v >= 0x80; v = Math.floor(v / 128)) out[at++] = (v & 0x7f) | 0x80;
  out[at++] = v;
  return at;
}

/** Copies `count` words from `words[from…]` to `out[at…]` as little-endian bytes; returns the end. */
function copyWords(out: Uint8Array, at: number, words: Uint16Array, from: number, count: number): number {
  if (littleEndian) {
    out.set(new Uint8Array(words.buffer, words.byteOffset + 2 * from, 2 * count), at);
    return at + 2 * count;
  }
  for (let j = from; j < from + count; j++, at += 2) {
    out[at] = words[j]! & 0xff;
    out[at + 1] = words[j]! >>> 8;
  }
  return at;
}

/**
 * Encodes a byte plane with order-0 static rANS. The payload is self-describing given the plane's
 * length (frequency table, final states, word streams; layout in the module comment). Overhead is
 * 53 bytes plus 1–2 bytes per distinct symbol (and up to ~8 bytes of state slack), so near-random
 * or tiny planes come out larger than the input: the caller should then keep the raw bytes.
 *
 * @example
 * const payload = ransEncode(plane);
 * const back = ransDecode(payload, plane.byteLength);
 */
export function ransEncode(plane: Uint8Array): Uint8Array {
  return encode(plane, ransKernelFor(plane.byteLength));
}

/**
 * {@link ransEncode} on the given loops whatever the plane's size: the TypeScript reference, or the
 * WebAssembly kernel (`Unsupported` when it cannot run here). For the differential tests and the
 * benchmark; both give the same bytes.
 */
export function ransEncodeWith(loops: RansLoops, plane: Uint8Array): Uint8Array {
  return encode(plane, loops === 'js' ? undefined : requireKernel());
}

/** Which loops {@link ransEncodeWith} and {@link ransDecodeWith} run. */
export type RansLoops = 'js' | 'wasm';

function requireKernel(): RansKernel {
  const k = ransKernel();
  if (!k) throw new EngramError('Unsupported', 'the rANS WebAssembly kernel cannot run here (ENGRAM_KERNELS=js, or no WebAssembly SIMD)', {});
  return k;
}

function encode(plane: Uint8Array, kernel: RansKernel | undefined): Uint8Array {
  const n = plane.byteLength;
  if (n > MAX_PLANE_BYTES) {
    throw new EngramError('InvalidArgument', `rANS plane of ${n} bytes exceeds the ${MAX_PLANE_BYTES}-byte limit`, { length: n });
  }
  if (n === 0) return new Uint8Array(1);
  // Stream w gets region [w·r, (w+1)·r) of the word buffer, filled back to front. A state sheds at
  // most one word per symbol and codes at most ⌈n/4⌉ symbols, so r = ⌊n/4⌋ + 2 leaves room for
  // encodeBody's store one word below the write position.
  const r = (n >> 2) + 2;
  let k = kernel ? kernelHistogram(kernel, plane, r, counts) : -1;
  if (k < 0) {
    kernel = undefined; // no kernel, or its memory cannot grow to this plane
    k = histogram(plane);
  }
  const scale = chooseScale(n);
  quantise(n, scale);

  let tableLength = TABLE_HEAD;
  for (let s = 0, start = 0; s < 256; s++) {
    const f = freqs[s]!;
    starts[s] = start;
    start += f;
    if (f === 0) continue;
    tableLength += varintLength(f);
    // Coding s into x ≥ f·2^(31−scale) would leave [L, 2^31): such x shed their low word first.
    // f = 2^scale (the only symbol) never grows the state, and the bound must stay an int32.
    encMax[s] = f === 1 << scale ? 0x7fffffff : f << (31 - scale);
    // ⌊x·rcp⌋ = ⌊x/f⌋ exactly for 0 ≤ x < 2^31: the nudge of 2^−45 outweighs the ≤ 2^−52 relative
    // rounding of 1/f and of the product, so x·rcp ≥ x/f; and it adds < 2^31·2^−44/f < 1/f, less
    // than the distance from x/f to the next integer.
    encRcp[s] = (1 / f) * (1 + 2 ** -45);
  }

  let words: Uint16Array;
  if (kernel) {
    words = kernelEncode(kernel, n, scale, freqs, r, state, pos);
  } else {
    words = wordScratch(WAYS * r);
    for (let w = 0; w < WAYS; w++) {
      state[w] = L;
      pos[w] = (w + 1) * r;
    }
    const n4 = n & ~3;
    encodeTail(plane, n4, n, scale, words);
    encodeBody(plane, n4, scale, words);
  }

  let size = tableLength + 4 * WAYS;
  for (let w = 0; w < WAYS; w++) {
    const count = (w + 1) * r - pos[w]!;
    size += 2 * count + (w < WAYS - 1 ? varintLength(count) : 0);
  }
  const out = new Uint8Array(size);
  out[0] = scale;
  out[1] = k - 1;
  let at = TABLE_HEAD;
  for (let s = 0; s < 256; s++) {
    const f = freqs[s]!;
    if (f === 0) continue;
    out[2 + (s >> 3)] |= 1 << (s & 7);
    at = writeVarint(out, at, f);
  }
  const view = new DataView(out.buffer);
  for (let w = 0; w < WAYS; w++, at += 4) view.setUint32(at, state[w]!, true);
  for (let w = 0; w < WAYS - 1; w++) at = writeVarint(out, at, (w + 1) * r - pos[w]!);
  for (let w = 0; w < WAYS; w++) at = copyWords(out, at, words, pos[w]!, (w + 1) * r - pos[w]!);
  return out;
}

/** Reads a canonical varint of at most `maxBytes` bytes at `at` into {@link varint}. */
function readVarint(payload: Uint8Array, at: number, maxBytes: number, what: string): void {
  let v = 0;
  for (let j = 0; ; j++) {
    if (j === maxBytes) throw corrupt(`${what} varint longer than ${maxBytes} bytes`);
    if (at >= payload.byteLength) throw corrupt(`truncated in ${what}`);
    const b = payload[at++]!;
    v += (b & 0x7f) * 2 ** (7 * j);
    if (b < 0x80) {
      if (b === 0 && j > 0) throw corrupt(`overlong ${what} varint`);
      break;
    }
  }
  varint[0] = v;
  varint[1] = at;
}

/** Fills the decoder's slot tables from `freqs`/`starts`. */
function buildSlots(): void {
  for (let s = 0; s < 256; s++) {
    const f = freqs[s]!;
    if (f === 0) continue;
    const start = starts[s]!;
    slotSym.fill(s, start, start + f);
    for (let j = 0; j < f; j++) slotInfo[start + j] = (f << 16) | j;
  }
}

/**
 * Decodes symbols from `i` on, four per step, while every stream provably has a word for each step
 * of the run: a step reads at most one word per stream, so a run of as many steps as the shortest
 * stream has words left cannot read past any end. Within a run the reads are branch-free: the next
 * word is always loaded and kept (`c` = −1) only when the state fell below L. Returns where it stopped.
 */
function decodeBody(payload: Uint8Array, out: Uint8Array, i: number, n4: number, scale: number): number {
  const mask = (1 << scale) - 1;
  let x0 = state[0]!, x1 = state[1]!, x2 = state[2]!, x3 = state[3]!;
  let a0 = pos[0]!, a1 = pos[1]!, a2 = pos[2]!, a3 = pos[3]!;
  const e0 = end[0]!, e1 = end[1]!, e2 = end[2]!, e3 = end[3]!;
  let slot = 0, info = 0, c = 0;
  for (;;) {
    const steps = Math.min((n4 - i) >> 2, (e0 - a0) >> 1, (e1 - a1) >> 1, (e2 - a2) >> 1, (e3 - a3) >> 1);
    if (steps <= 0) break;
    for (const stop = i + 4 * steps; i < stop; i += 4) {
      slot = x0 & mask;
      info = slotInfo[slot]!;
      out[i] = slotSym[slot]!;
      x0 = Math.imul(info >>> 16, x0 >>> scale) + (info & 0xffff);
      c = (x0 - L) >> 31;
      x0 = (x0 << (c & 16)) | ((payload[a0]! | (payload[a0 + 1]! << 8)) & c);
      a0 -= c << 1;

      slot = x1 & mask;
      info = slotInfo[slot]!;
      out[i + 1] = slotSym[slot]!;
      x1 = Math.imul(info >>> 16, x1 >>> scale) + (info & 0xffff);
      c = (x1 - L) >> 31;
      x1 = (x1 << (c & 16)) | ((payload[a1]! | (payload[a1 + 1]! << 8)) & c);
      a1 -= c << 1;

      slot = x2 & mask;
      info = slotInfo[slot]!;
      out[i + 2] = slotSym[slot]!;
      x2 = Math.imul(info >>> 16, x2 >>> scale) + (info & 0xffff);
      c = (x2 - L) >> 31;
      x2 = (x2 << (c & 16)) | ((payload[a2]! | (payload[a2 + 1]! << 8)) & c);
      a2 -= c << 1;

      slot = x3 & mask;
      info = slotInfo[slot]!;
      out[i + 3] = slotSym[slot]!;
      x3 = Math.imul(info >>> 16, x3 >>> scale) + (info & 0xffff);
      c = (x3 - L) >> 31;
      x3 = (x3 << (c & 16)) | ((payload[a3]! | (payload[a3 + 1]! << 8)) & c);
      a3 -= c << 1;
    }
  }
  state[0] = x0; state[1] = x1; state[2] = x2; state[3] = x3;
  pos[0] = a0; pos[1] = a1; pos[2] = a2; pos[3] = a3;
  return i;
}

/** Decodes symbols [i, n) one at a time, checking every read against its stream's end. */
function decodeChecked(payload: Uint8Array, out: Uint8Array, i: number, n: number, scale: number): void {
  const mask = (1 << scale) - 1;
  for (; i < n; i++) {
    const w = i & 3;
    let x = state[w]!;
    const slot = x & mask;
    const info = slotInfo[slot]!;
    out[i] = slotSym[slot]!;
    x = Math.imul(info >>> 16, x >>> scale) + (info & 0xffff);
    if (x < L) {
      const a = pos[w]!;
      if (a + 2 > end[w]!) throw corrupt(`word stream ${w} runs past its end`);
      x = (x << 16) | payload[a]! | (payload[a + 1]! << 8);
      pos[w] = a + 2;
    }
    state[w] = x;
  }
}

/**
 * Decodes a {@link ransEncode} payload into exactly `outLength` bytes, written into `into` when given
 * (whose length must then be `outLength`). Any malformation — truncation, a bad format byte, a table
 * whose frequencies do not sum to the total, a stream that runs short or has words left over, final
 * states other than the encoder's initial state, trailing bytes — throws `IntegrityMismatch`. It
 * never reads past the payload, runs at most `outLength` steps, and allocates only the output.
 * After a throw, `into` may hold partly decoded bytes.
 *
 * @throws EngramError `InvalidArgument` when `outLength` is not a byte count or `into` has the
 *   wrong length (misuse, not corruption).
 *
 * @example
 * const plane = ransDecode(payload, planeLength);
 * ransDecode(payload, planeLength, grouped.subarray(at, at + planeLength)); // in place
 */
export function ransDecode(payload: Uint8Array, outLength: number, into?: Uint8Array): Uint8Array {
  return decode(payload, outLength, into, ransKernelFor(outLength));
}

/** {@link ransDecode} on the given loops whatever the plane's size (see {@link ransEncodeWith}). */
export function ransDecodeWith(loops: RansLoops, payload: Uint8Array, outLength: number, into?: Uint8Array): Uint8Array {
  return decode(payload, outLength, into, loops === 'js' ? undefined : requireKernel());
}

function decode(payload: Uint8Array, outLength: number, into: Uint8Array | undefined, kernel: RansKernel | undefined): Uint8Array {
  if (!Number.isSafeInteger(outLength) || outLength < 0 || outLength > MAX_PLANE_BYTES) {
    throw new EngramError('InvalidArgument', `rANS output length ${outLength} is not a byte count up to ${MAX_PLANE_BYTES}`, { outLength });
  }
  if (into !== undefined && into.byteLength !== outLength) {
    throw new EngramError('InvalidArgument', `rANS output buffer is ${into.byteLength} bytes, expected ${outLength}`, { outLength, buffer: into.byteLength });
  }
  const len = payload.byteLength;
  if (len === 0) throw corrupt('empty payload');
  // Positions are int32. No payload of ours comes near 2^31 bytes: ≤ 2^30 symbols at ≤ ~13 bits each.
  if (len >= 2 ** 31) throw corrupt(`payload of ${len} bytes is longer than any plane needs`);
  const format = payload[0]!;
  if (outLength === 0) {
    if (format !== 0 || len !== 1) throw corrupt('an empty plane must be the single byte 0x00');
    return into ?? new Uint8Array(0);
  }
  const scale = format & 0x0f;
  if (format >>> 4 !== 0 || scale < MIN_SCALE || scale > FORMAT_MAX_SCALE) throw corrupt(`bad format byte ${format}`);
  if (len < TABLE_HEAD) throw corrupt('truncated in the symbol bitmap');
  const total = 1 << scale;
  const k = payload[1]! + 1;

  let at = TABLE_HEAD;
  let present = 0;
  let sum = 0;
  let only = 0;
  for (let s = 0; s < 256; s++) {
    if ((payload[2 + (s >> 3)]! & (1 << (s & 7))) === 0) {
      freqs[s] = 0;
      continue;
    }
    if (++present > k) throw corrupt(`bitmap lists more than the ${k} symbols declared`);
    readVarint(payload, at, 3, 'frequency');
    const f = varint[0]!;
    at = varint[1]!;
    if (f === 0 || f > total) throw corrupt(`symbol ${s} has frequency ${f}, outside 1..${total}`);
    freqs[s] = f;
    starts[s] = sum;
    sum += f;
    only = s;
  }
  if (present !== k) throw corrupt(`bitmap lists ${present} symbols, ${k} declared`);
  if (sum !== total) throw corrupt(`frequencies sum to ${sum}, expected ${total}`);

  if (at + 4 * WAYS > len) throw corrupt('truncated in the states');
  const view = new DataView(payload.buffer, payload.byteOffset, len);
  for (let w = 0; w < WAYS; w++, at += 4) {
    const x = view.getUint32(at, true);
    if (x < L || x >= 2 ** 31) throw corrupt(`initial state ${x} outside [2^15, 2^31)`);
    state[w] = x;
  }
  // A state codes ⌈outLength/4⌉ symbols at most, and reads at most one word for each.
  const maxWords = Math.ceil(outLength / WAYS);
  for (let w = 0; w < WAYS - 1; w++) {
    readVarint(payload, at, 5, 'stream length');
    end[w] = Math.min(varint[0]!, 2 ** 30); // clamped only to stay an int32; checked just below
    at = varint[1]!;
  }
  for (let w = 0; w < WAYS; w++) {
    const words = w < WAYS - 1 ? end[w]! : (len - at) / 2;
    if (!Number.isInteger(words)) throw corrupt('last word stream has an odd number of bytes');
    if (words > maxWords) throw corrupt(`word stream ${w} is longer than ${outLength} symbols can need`);
    if (2 * words > len - at) throw corrupt(`word stream ${w} runs past the end of the payload`);
    pos[w] = at;
    at += 2 * words;
    end[w] = at;
  }

  const out = into ?? new Uint8Array(outLength);
  if (k === 1) {
    // The only symbol has probability 1: zero bits, no words, states that never move.
    out.fill(only);
  } else {
    // −1 decoded; ≥ 0 the stream that ran dry; −2 no kernel, or its memory cannot hold this plane.
    const short = kernel ? kernelDecode(kernel, payload, out, scale, freqs, state, pos, end) : -2;
    if (short >= 0) throw corrupt(`word stream ${short} runs past its end`);
    if (short === -2) {
      buildSlots();
      const i = decodeBody(payload, out, 0, outLength & ~3, scale);
      decodeChecked(payload, out, i, outLength, scale);
    }
  }
  for (let w = 0; w < WAYS; w++) {
    if (pos[w] !== end[w]) throw corrupt(`${end[w]! - pos[w]!} bytes left in word stream ${w}`);
    if (state[w] !== L) throw corrupt(`final state ${state[w]} of stream ${w} is not the initial state ${L}`);
  }
  return out;
}
