/**
 * @module The sparse plane code (plane codec 4): a plane that is mostly zero — the top byte plane of
 * a delta between consecutive checkpoints (86–93 % zeros on W3 fp32, under one bit per byte) — as a
 * bit mask of its non-zero bytes and the list of those bytes, each coded with rANS or Huffman.
 *
 * Why: rANS decodes one symbol per step whatever the plane holds, ~2 ms for a 400 KB plane of
 * zeros, which made the top plane the costliest part of a delta link. The mask has one byte per
 * eight plane bytes and the values one per non-zero byte, so the coders see ~8× fewer symbols,
 * and putting the zeros back is a scatter over the mask. The size stays at the plane's order-0
 * entropy or below it (each mask byte is a symbol of eight flags, so runs of zeros code jointly):
 * on W3's delta chunks 0.99× the rANS size.
 *
 * Payload: u32 count of non-zero bytes, then the mask (ceil(length / 8) bytes, bit i of byte j
 * flags plane byte 8j + i) and the values (count bytes), each as a codec byte (0 raw, 2 rANS,
 * 3 Huffman), a u32 length and the body. The decoder checks the mask's population count against
 * the count and that no bit past the plane's end is set.
 */
import { EngramError } from '../errors/index.ts';
import { huffmanDecode, huffmanEncode } from './huffman.ts';
import { ransDecode, ransEncode } from './rans.ts';
import { threadScratch } from './scratch-pool.ts';
import { align16, loadKernel } from './wasm/index.ts';

const SUB_RAW = 0;
const SUB_RANS = 2;
const SUB_HUFFMAN = 3;
/** Huffman is taken for a sub-stream within this factor of rANS: it decodes ~3× faster. */
const HUFFMAN_SLACK = 1.03;

function corrupt(reason: string): EngramError {
  return new EngramError('IntegrityMismatch', `chunk object is corrupt: sparse plane: ${reason}`, { reason: 'sparse-plane' });
}

/** The smallest of raw, rANS and Huffman for a sub-stream (Huffman within its slack), as codec byte + body. */
function codeSub(bytes: Uint8Array): { codec: number; body: Uint8Array } {
  if (bytes.byteLength < 16) return { codec: SUB_RAW, body: bytes };
  const r = ransEncode(bytes);
  const h = huffmanEncode(bytes);
  const best = h.byteLength <= HUFFMAN_SLACK * r.byteLength ? { codec: SUB_HUFFMAN, body: h } : { codec: SUB_RANS, body: r };
  return best.body.byteLength < bytes.byteLength ? best : { codec: SUB_RAW, body: bytes };
}

/** Encodes `plane` with the sparse code. */
export function sparseEncode(plane: Uint8Array): Uint8Array {
  const n = plane.byteLength;
  const mask = new Uint8Array((n + 7) >>> 3);
  let count = 0;
  for (let i = 0; i < n; i++) if (plane[i] !== 0) count++;
  const values = new Uint8Array(count);
  for (let i = 0, v = 0; i < n; i++) {
    const b = plane[i]!;
    if (b === 0) continue;
    mask[i >>> 3]! |= 1 << (i & 7);
    values[v++] = b;
  }
  const m = codeSub(mask);
  const val = codeSub(values);
  const out = new Uint8Array(4 + 5 + m.body.byteLength + 5 + val.body.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, count, true);
  let at = 4;
  for (const s of [m, val]) {
    out[at] = s.codec;
    view.setUint32(at + 1, s.body.byteLength, true);
    out.set(s.body, at + 5);
    at += 5 + s.body.byteLength;
  }
  return out;
}

/** Decodes one sub-stream of `length` bytes into `into`. */
function decodeSub(codec: number, body: Uint8Array, length: number, into: Uint8Array): void {
  if (codec === SUB_RAW) {
    if (body.byteLength !== length) throw corrupt(`raw stream is ${body.byteLength} bytes, expected ${length}`);
    into.set(body);
  } else if (codec === SUB_RANS) {
    ransDecode(body, length, into);
  } else if (codec === SUB_HUFFMAN) {
    huffmanDecode(body, length, into);
  } else {
    throw corrupt(`unknown stream codec ${codec}`);
  }
}

/** Decodes a {@link sparseEncode} payload of a plane of `length` bytes into `into` (which it fills whole). */
export function sparseDecode(payload: Uint8Array, length: number, into: Uint8Array): void {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload.byteLength < 4) throw corrupt('payload is shorter than its count');
  const count = view.getUint32(0, true);
  if (count > length) throw corrupt(`${count} non-zero bytes in a plane of ${length}`);
  const maskLength = (length + 7) >>> 3;
  const streams: Uint8Array[] = [];
  try {
    let at = 4;
    for (const want of [maskLength, count]) {
      if (at + 5 > payload.byteLength) throw corrupt('stream table runs past the end');
      const codec = payload[at]!;
      const len = view.getUint32(at + 1, true);
      at += 5;
      if (len > payload.byteLength - at) throw corrupt('stream runs past the end');
      const s = threadScratch.take(want);
      streams.push(s);
      decodeSub(codec, payload.subarray(at, at + len), want, s);
      at += len;
    }
    if (at !== payload.byteLength) throw corrupt('trailing bytes');
    const mask = streams[0]!;
    if (length % 8 !== 0 && mask[maskLength - 1]! >>> (length % 8) !== 0) throw corrupt('mask flags bytes past the plane');
    scatter(mask, streams[1]!, count, length, into);
  } finally {
    threadScratch.give(...streams);
  }
}

/** Planes at least this long are scattered by the kernel (below it the copies cost more than the loop). */
const KERNEL_MIN_BYTES = 4096;

/**
 * Writes `values` where `mask` flags non-zero bytes and zeros elsewhere, into `into[0, length)`.
 * The `sparse` WebAssembly kernel (wasm/sparse.c) for planes of {@link KERNEL_MIN_BYTES} or more,
 * else {@link scatterJs}, the reference; both refuse a mask that flags more or fewer bytes than `count`.
 */
function scatter(mask: Uint8Array, values: Uint8Array, count: number, length: number, into: Uint8Array): void {
  const k = length >= KERNEL_MIN_BYTES ? loadKernel('sparse') : undefined;
  if (!k) return scatterJs(mask, values, count, length, into);
  const maskLength = mask.byteLength;
  const maskAt = k.heapBase;
  const valuesAt = align16(maskAt + maskLength);
  // The kernel may read one value past the last (a select), so 16 bytes of slack.
  const outAt = align16(valuesAt + count + 16);
  const mem = k.reserve(outAt + maskLength * 8 - k.heapBase);
  mem.set(mask, maskAt);
  mem.set(values.subarray(0, count), valuesAt);
  const used = k.fn.scatter!(maskAt, maskLength, valuesAt, count, outAt) >>> 0;
  if (used !== count) throw corrupt(used === 0xffffffff ? 'mask flags more bytes than the count' : `mask flags ${used} bytes, the count is ${count}`);
  into.set(mem.subarray(outAt, outAt + length));
}

/** The TypeScript reference of the sparse scatter (see {@link scatter}). */
export function scatterJs(mask: Uint8Array, values: Uint8Array, count: number, length: number, into: Uint8Array): void {
  const maskLength = mask.byteLength;
  into.fill(0, 0, length);
  let v = 0;
  for (let j = 0; j < maskLength; j++) {
    let m = mask[j]!;
    if (m === 0) continue;
    const base = j << 3;
    // One step per set bit, lowest first; a count beyond `values` stops here rather than reading past it.
    while (m !== 0) {
      if (v >= count) throw corrupt('mask flags more bytes than the count');
      into[base + 31 - Math.clz32(m & -m)] = values[v++]!;
      m &= m - 1;
    }
  }
  if (v !== count) throw corrupt(`mask flags ${v} bytes, the count is ${count}`);
}
