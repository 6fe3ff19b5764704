/**
 * @module The chunk object: a small header and an encoded payload (DESIGN §3). The header says how
 * to get the raw bytes back, so any reader decodes any chunk without the manifest; the key is the
 * SHA-256 of the raw bytes, so decoding always ends by re-hashing.
 *
 * Header, little-endian:
 *   'ENGC' | version u8 = 1 | transform u8 | codec u8 | width u8 | rawLength u64 | [base hash 32 B]
 * transform: 0 none, 1 byte-group, 2 XOR-delta against `base` then byte-group, 3 integer-difference
 *            delta (delta-transform.ts) then byte-group; the base hash is present for 2 and 3;
 *            4 byte-group of elements (2 or 4 bytes) rotated left one bit (rotate-group.ts), which
 *            readChunkHeader reports as byte-group with `rotated`
 * codec:     0 raw, 1 zstd (one frame), 2 per plane: each plane raw, zstd, rANS or Huffman,
 *            whichever is smallest, Huffman preferred within 3 % of rANS, a delta's mostly-zero
 *            planes sparse (sparse-plane.ts) within 3 % of the others (the mantissa planes of
 *            trained weights are near random and stay raw)
 */
import { EngramError } from '../errors/index.ts';
import { groupBytes, groupBytesStats, planeRanges, ungroupBytes } from './byte-group.ts';
import { applyDelta, applyDeltaGrouped, deltaKind, undoDelta, undoDeltaGrouped } from './delta-transform.ts';
import { sha256Hex } from './hash.ts';
import { type PlaneStats } from './plane-stats.ts';
import { threadScratch } from './scratch-pool.ts';
import { huffmanDecode, huffmanEncodeWithin } from './huffman.ts';
import { groupRotatedStats, rotatable, ungroupRotated } from './rotate-group.ts';
import { ransDecode, ransEncode } from './rans.ts';
import { sparseDecode, sparseEncode } from './sparse-plane.ts';
import { zstdCompress, zstdDecompress, zstdFrameContentSize } from './zstd.ts';

const MAGIC = [0x45, 0x4e, 0x47, 0x43]; // "ENGC"
const VERSION = 1;
const FIXED_HEADER = 16;
const BASE_HASH_BYTES = 32;
/** Largest raw chunk a reader accepts; chunks are ≤ 4 MiB by default, this bounds corrupted headers. */
export const MAX_CHUNK_BYTES = 1 << 30;

/** How a chunk's payload was transformed before compression. */
export type ChunkTransform = 'none' | 'bytegroup' | 'xor-delta' | 'sub-delta';
/** How a chunk's payload was compressed. */
export type ChunkCodec = 'raw' | 'zstd' | 'zstd-planes';

const TRANSFORMS: readonly ChunkTransform[] = ['none', 'bytegroup', 'xor-delta', 'sub-delta'];
/** The transform byte of a byte-group of rotated elements (rotate-group.ts). */
const ROTATED_BYTEGROUP = 4;
const CODECS: readonly ChunkCodec[] = ['raw', 'zstd', 'zstd-planes'];

/** The decoded header of a chunk object. */
export interface ChunkHeader {
  readonly transform: ChunkTransform;
  readonly codec: ChunkCodec;
  /** Element width the bytes were grouped by (1 = not grouped). */
  readonly width: number;
  readonly rawLength: number;
  /** Raw-bytes hash of the chunk this one is an XOR-delta against. */
  readonly baseHash?: string;
  /** Bytes of header before the payload. */
  readonly headerLength: number;
  /** Byte-group only: each element was rotated left one bit before grouping (rotate-group.ts). */
  readonly rotated?: boolean;
}

/** Options for {@link encodeChunk}. */
export interface EncodeOptions {
  /** Element width in bytes of the data (dtype size); 1 for opaque bytes. */
  readonly width: number;
  /** zstd level (default 3). */
  readonly level?: number;
  /** Encode as an XOR-delta against this chunk (same length) when that is smaller. */
  readonly base?: { readonly hash: string; readonly bytes: Uint8Array };
  /**
   * Where to write the object: called once with its length, returns a buffer of exactly that many
   * bytes, or undefined for one of the thread's own (a codec worker writes into shared memory).
   */
  readonly output?: (length: number) => Uint8Array | undefined;
}

/** Options for {@link decodeChunk}. */
export interface DecodeOptions {
  /** The raw-bytes SHA-256 the chunk must have; a mismatch throws `IntegrityMismatch`. */
  readonly expectedHash?: string;
  /** Fetches the raw bytes of a delta base (by its hash). Required to decode delta chunks. */
  readonly getBase?: (hash: string) => Promise<Uint8Array>;
  /**
   * Where to write the raw bytes: called once with the raw length, returns a buffer of exactly that
   * many bytes, or undefined for one of the thread's own. The result is then that buffer.
   */
  readonly output?: (length: number) => Uint8Array | undefined;
}

function corrupt(reason: string, data: Record<string, unknown> = {}): EngramError {
  return new EngramError('IntegrityMismatch', `chunk object is corrupt: ${reason}`, { reason, ...data });
}

function writeHeader(transform: ChunkTransform, codec: ChunkCodec, width: number, rawLength: number, baseHash: string | undefined, payloadLength: number, output?: (length: number) => Uint8Array | undefined, rotated = false): { out: Uint8Array; offset: number } {
  const headerLength = FIXED_HEADER + (baseHash ? BASE_HASH_BYTES : 0);
  // Else from the thread's pool: a codec worker's caller gives the object back once it is stored,
  // so a save writes its chunk objects into memory it has touched before (see CodecPool.recycle).
  const out = output?.(headerLength + payloadLength) ?? scratch.take(headerLength + payloadLength);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  out[5] = rotated ? ROTATED_BYTEGROUP : TRANSFORMS.indexOf(transform);
  out[6] = CODECS.indexOf(codec);
  out[7] = width;
  new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(8, BigInt(rawLength), true);
  if (baseHash) out.set(Buffer.from(baseHash, 'hex'), FIXED_HEADER);
  return { out, offset: headerLength };
}

/** Parses and bounds-checks a chunk header; throws `IntegrityMismatch` on anything malformed. */
export function readChunkHeader(encoded: Uint8Array): ChunkHeader {
  if (encoded.byteLength < FIXED_HEADER) throw corrupt(`object is ${encoded.byteLength} bytes, shorter than a header`);
  for (let i = 0; i < 4; i++) if (encoded[i] !== MAGIC[i]) throw corrupt('bad magic');
  if (encoded[4] !== VERSION) throw corrupt(`unknown chunk version ${encoded[4]}`);
  const rotated = encoded[5] === ROTATED_BYTEGROUP;
  const transform = rotated ? 'bytegroup' : TRANSFORMS[encoded[5]!];
  const codec = CODECS[encoded[6]!];
  if (!transform) throw corrupt(`unknown transform ${encoded[5]}`);
  if (!codec) throw corrupt(`unknown codec ${encoded[6]}`);
  const width = encoded[7]!;
  if (width < 1 || width > 16) throw corrupt(`element width ${width} out of range`);
  // Only the combinations the encoder writes are valid, so a damaged header byte is caught here.
  const grouped = width > 1;
  const valid = transform === 'none' ? !grouped && codec !== 'zstd-planes'
    : transform === 'bytegroup' ? grouped && codec === 'zstd-planes'
    : transform === 'sub-delta' && deltaKind(width) !== 'sub' ? false
    : grouped ? codec === 'zstd-planes' : codec === 'zstd';
  if (rotated && !rotatable(width)) throw corrupt(`rotated byte-group with width ${width}`);
  if (!valid) throw corrupt(`invalid combination: transform ${transform}, codec ${codec}, width ${width}`);
  const raw = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength).getBigUint64(8, true);
  if (raw > BigInt(MAX_CHUNK_BYTES)) throw corrupt(`declared raw length ${raw} exceeds ${MAX_CHUNK_BYTES}`);
  const rawLength = Number(raw);
  if (transform === 'xor-delta' || transform === 'sub-delta') {
    if (encoded.byteLength < FIXED_HEADER + BASE_HASH_BYTES) throw corrupt('delta chunk is missing its base hash');
    const baseHash = Buffer.from(encoded.buffer, encoded.byteOffset + FIXED_HEADER, BASE_HASH_BYTES).toString('hex');
    return { transform, codec, width, rawLength, baseHash, headerLength: FIXED_HEADER + BASE_HASH_BYTES };
  }
  return rotated ? { transform, codec, width, rawLength, headerLength: FIXED_HEADER, rotated } : { transform, codec, width, rawLength, headerLength: FIXED_HEADER };
}

/** This thread's intermediate buffers (grouped planes, deltas) and results: see scratch-pool.ts. */
const scratch = threadScratch;

/** Plane codecs inside a per-plane payload. */
const PLANE_RAW = 0;
const PLANE_ZSTD = 1;
const PLANE_RANS = 2;
const PLANE_HUFFMAN = 3;
const PLANE_SPARSE = 4;
/**
 * A delta's planes under this many bits per byte (the mostly-zero top plane) try the sparse code
 * (sparse-plane.ts), taken when within {@link SPARSE_SLACK} of the best other: it decodes several
 * times faster than rANS, and restoring a delta chain decodes every link (docs/ARCHITECTURE.md).
 */
const SPARSE_BELOW_BITS = 2;
const SPARSE_SLACK = 1.03;
/**
 * Size Huffman may lose against rANS and still be chosen: it codes ~3× faster both ways, and on the
 * exponent plane of trained weights it is 1.2–2.7 % larger (docs/ARCHITECTURE.md). Two bounds, both
 * held: at most this factor on the plane, and at most {@link HUFFMAN_CHUNK_SLACK} of the whole
 * chunk's estimated size — so fp32 (one coded plane in four) takes Huffman almost always and bf16
 * (one in two, where a plane's loss weighs twice as much) only where it loses little.
 */
const HUFFMAN_SLACK = 1.03;
const HUFFMAN_CHUNK_SLACK = 0.004;
/**
 * The chunk bound for a delta's planes: restoring a chain decodes every link, and there Huffman's
 * speed pays for more (on W3's deltas it is 0.4 % larger than rANS on the near-random upper
 * mantissa plane and decodes it in 0.7× the time).
 */
const HUFFMAN_DELTA_CHUNK_SLACK = 0.01;
/** rANS's header and frequency table on a typical plane (53 bytes + ~1.5 per symbol of ~40). */
const RANS_TABLE_BYTES = 110;
/** Planes with at least this many bits of order-0 entropy per byte are stored raw without trying a coder. */
const NEAR_RANDOM_BITS = 7.9;
/** Repeats of the previous byte beyond chance above which zstd's matches may beat order-0 coding. */
const STRUCTURE_THRESHOLD = 0.02;

/** Estimated coded size of a grouped buffer: each plane at its order-0 entropy, or raw. */
function estimate(stats: readonly PlaneStats[], bounds: readonly [number, number][]): number {
  let n = 0;
  for (let p = 0; p < stats.length; p++) {
    const len = bounds[p]![1] - bounds[p]![0];
    n += stats[p]!.bitsPerByte >= NEAR_RANDOM_BITS ? len : Math.min(len, stats[p]!.entropyBytes);
  }
  return n;
}

/**
 * Codes each plane with whichever of raw, Huffman or rANS, and zstd is smallest. rANS reaches the
 * order-0 entropy (zstd's Huffman literals lose ~0.6 bit per byte on the exponent plane of trained
 * weights); our Huffman codes four bit streams with 11-bit codes, is taken instead of rANS when it
 * comes within {@link HUFFMAN_SLACK} of it, and is several times faster; zstd is tried as well only
 * where bytes repeat their predecessor more than chance, i.e. where matches help.
 */
async function codePlanes(grouped: Uint8Array, bounds: readonly [number, number][], stats: readonly PlaneStats[], level: number, take: (n: number) => Uint8Array, delta = false, saved = 0): Promise<Uint8Array[]> {
  const coded = stats.filter((st) => st.bitsPerByte < NEAR_RANDOM_BITS).length;
  // `saved`: what the rotated layout saved against the plain one, which Huffman may spend too.
  const chunkLoss = ((delta ? HUFFMAN_DELTA_CHUNK_SLACK : HUFFMAN_CHUNK_SLACK) * estimate(stats, bounds) + saved) / Math.max(1, coded);
  const parts = await Promise.all(bounds.map(async ([a, b], p) => {
    const plane = grouped.subarray(a, b);
    const st = stats[p]!;
    let codec = PLANE_RAW;
    let body = plane;
    if (plane.byteLength > 0 && st.bitsPerByte < NEAR_RANDOM_BITS) {
      // Huffman when it is within the slack of what rANS would reach: its exact size is known from
      // the histogram and the code lengths, so a plane it loses on costs one histogram pass.
      const rans = st.entropyBytes + RANS_TABLE_BYTES;
      const h = huffmanEncodeWithin(plane, Math.min(plane.byteLength - 1, HUFFMAN_SLACK * rans, rans + chunkLoss), take);
      const r = h ?? ransEncode(plane);
      if (r.byteLength < body.byteLength) {
        codec = h ? PLANE_HUFFMAN : PLANE_RANS;
        body = r;
      }
      if (delta && st.bitsPerByte < SPARSE_BELOW_BITS) {
        const sp = sparseEncode(plane);
        if (sp.byteLength <= SPARSE_SLACK * body.byteLength && sp.byteLength < plane.byteLength) {
          codec = PLANE_SPARSE;
          body = sp;
        }
      }
      if (st.excessRepeats > STRUCTURE_THRESHOLD) {
        const z = await zstdCompress(plane, level);
        if (z.byteLength < body.byteLength) {
          codec = PLANE_ZSTD;
          body = z;
        }
      }
    }
    const head = new Uint8Array(5);
    head[0] = codec;
    new DataView(head.buffer).setUint32(1, body.byteLength, true);
    return [head, body];
  }));
  const count = new Uint8Array([bounds.length]);
  return [count, ...parts.flat()];
}

function concat(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  return n;
}

/** One candidate encoding: transform + codec + payload pieces. */
interface Candidate {
  readonly transform: ChunkTransform;
  readonly codec: ChunkCodec;
  readonly width: number;
  readonly baseHash?: string;
  readonly rotated?: boolean;
  readonly payload: readonly Uint8Array[];
}

/** A transformed, byte-grouped buffer and the statistics of its planes, before coding. */
interface Grouped {
  readonly transform: ChunkTransform;
  readonly baseHash?: string;
  readonly grouped: Uint8Array;
  readonly stats: PlaneStats[];
  readonly estimate: number;
  /** Whether the elements were rotated before grouping (rotate-group.ts). */
  readonly rotated?: boolean;
  /** Estimated bytes the rotated layout saves against the plain one. */
  readonly saved?: number;
}

/** A candidate: planes already grouped into `into`, with the statistics the same pass took. */
function grouped(transform: ChunkTransform, bounds: readonly [number, number][], into: Uint8Array, stats: PlaneStats[], baseHash?: string): Grouped {
  return { transform, baseHash, grouped: into, stats, estimate: estimate(stats, bounds) };
}

/**
 * The keyframe candidate of 2- and 4-byte elements: the plain or the rotated grouping
 * (rotate-group.ts), whichever the sampled statistics of both estimate smaller: grouped rotated
 * into `into` while both are sampled, and regrouped plainly when that wins. Float weights take the rotated one
 * (their exponent whole in one plane); integers and float16 may not.
 */
function keyframe(raw: Uint8Array, width: number, bounds: readonly [number, number][], into: Uint8Array): Grouped {
  const { plain, rotated } = groupRotatedStats(raw, width, into);
  const p = estimate(plain, bounds), r = estimate(rotated, bounds);
  if (r < p) return { ...grouped('bytegroup', bounds, into, rotated), rotated: true, saved: p - r };
  groupBytes(raw, width, into);
  return grouped('bytegroup', bounds, into, plain);
}

/**
 * Encodes raw chunk bytes into a chunk object. Elements wider than a byte are byte-grouped and each
 * plane coded on its own; with a `base` (the same chunk of the parent snapshot) the element-wise
 * delta is used instead when its planes' entropy is lower. Only the more promising of the two is
 * coded — the choice is made from plane histograms, which cost far less than coding both — and the
 * object is stored raw when nothing shrinks.
 */
export async function encodeChunk(raw: Uint8Array, options: EncodeOptions): Promise<Uint8Array> {
  if (raw.byteLength > MAX_CHUNK_BYTES) {
    throw new EngramError('InvalidArgument', `chunk of ${raw.byteLength} bytes exceeds the ${MAX_CHUNK_BYTES}-byte limit`, { length: raw.byteLength });
  }
  const level = options.level ?? 3;
  const width = options.width >= 1 && options.width <= 16 ? Math.floor(options.width) : 1;
  const base = options.base;
  const useBase = base !== undefined && base.bytes.byteLength === raw.byteLength && raw.byteLength > 0 && /^[0-9a-f]{64}$/.test(base.hash);
  const deltaTransform: ChunkTransform = deltaKind(width) === 'sub' ? 'sub-delta' : 'xor-delta';
  const candidates: Candidate[] = [];
  const taken: Uint8Array[] = [];
  const take = (n: number): Uint8Array => {
    const b = scratch.take(n);
    taken.push(b);
    return b;
  };
  try {
  if (raw.byteLength > 0 && width === 1) {
    // Opaque bytes and byte-wide tensors: one zstd frame, whose matches suit text and structure.
    candidates.push({ transform: 'none', codec: 'zstd', width: 1, payload: [await zstdCompress(raw, level)] });
    if (useBase) {
      const d = applyDelta(raw, base.bytes, 1, take(raw.byteLength));
      candidates.push({ transform: deltaTransform, codec: 'zstd', width: 1, baseHash: base.hash, payload: [await zstdCompress(d, level)] });
    }
  } else if (raw.byteLength > 0) {
    const bounds = planeRanges(raw.byteLength, width);
    const into = take(raw.byteLength);
    let pick = rotatable(width) ? keyframe(raw, width, bounds, into) : grouped('bytegroup', bounds, into, groupBytesStats(raw, width, into));
    if (useBase) {
      const dInto = take(raw.byteLength);
      const d = grouped(deltaTransform, bounds, dInto, applyDeltaGrouped(raw, base.bytes, width, dInto), base.hash);
      if (d.estimate + BASE_HASH_BYTES < pick.estimate) pick = d;
    }
    candidates.push({ transform: pick.transform, codec: 'zstd-planes', width, baseHash: pick.baseHash, rotated: pick.rotated, payload: await codePlanes(pick.grouped, bounds, pick.stats, level, take, pick.baseHash !== undefined, pick.saved) });
  }
  let best: Candidate = { transform: 'none', codec: 'raw', width: 1, payload: [raw] };
  let bestSize = raw.byteLength;
  for (const c of candidates) {
    const size = concat(c.payload) + (c.baseHash ? BASE_HASH_BYTES : 0);
    if (size < bestSize) {
      best = c;
      bestSize = size;
    }
  }
  const payloadLength = concat(best.payload);
  const { out, offset } = writeHeader(best.transform, best.codec, best.width, raw.byteLength, best.baseHash, payloadLength, options.output, best.rotated);
  let at = offset;
  for (const p of best.payload) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
  } finally {
    // Raw planes in the payload were views of these buffers; they have been copied into `out`.
    scratch.give(...taken);
  }
}

async function inflate(frame: Uint8Array, expected: number): Promise<Uint8Array> {
  const declared = zstdFrameContentSize(frame);
  if (declared === null) throw corrupt('payload is not a zstd frame');
  if (declared !== undefined && declared !== expected) throw corrupt(`zstd frame declares ${declared} bytes, expected ${expected}`);
  let out: Uint8Array;
  try {
    out = await zstdDecompress(frame);
  } catch (e) {
    throw new EngramError('IntegrityMismatch', `chunk object is corrupt: zstd failed (${(e as Error).message})`, { reason: 'zstd' }, { cause: e });
  }
  if (out.byteLength !== expected) throw corrupt(`zstd produced ${out.byteLength} bytes, expected ${expected}`);
  return out;
}

async function decodePlanes(payload: Uint8Array, width: number, rawLength: number): Promise<Uint8Array> {
  const planeLength = Math.floor(rawLength / width);
  const tail = rawLength % width;
  const count = width + (tail ? 1 : 0);
  if (payload.byteLength < 1 || payload[0] !== count) throw corrupt(`expected ${count} planes`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const grouped = scratch.take(rawLength);
  const jobs: Promise<void>[] = [];
  let at = 1;
  for (let p = 0; p < count; p++) {
    if (at + 5 > payload.byteLength) throw corrupt('plane table runs past the end');
    const codec = payload[at]!;
    const len = view.getUint32(at + 1, true);
    at += 5;
    if (len > payload.byteLength - at) throw corrupt('plane runs past the end');
    const body = payload.subarray(at, at + len);
    at += len;
    const dest = p * planeLength;
    const expected = p < width ? planeLength : tail;
    if (codec === PLANE_RAW) {
      if (len !== expected) throw corrupt(`raw plane ${p} is ${len} bytes, expected ${expected}`);
      grouped.set(body, dest);
    } else if (codec === PLANE_ZSTD) {
      jobs.push(inflate(body, expected).then((b) => grouped.set(b, dest)));
    } else if (codec === PLANE_RANS) {
      ransDecode(body, expected, grouped.subarray(dest, dest + expected));
    } else if (codec === PLANE_HUFFMAN) {
      huffmanDecode(body, expected, grouped.subarray(dest, dest + expected));
    } else if (codec === PLANE_SPARSE) {
      sparseDecode(body, expected, grouped.subarray(dest, dest + expected));
    } else {
      throw corrupt(`unknown plane codec ${codec}`);
    }
  }
  if (at !== payload.byteLength) throw corrupt('trailing bytes after the last plane');
  await Promise.all(jobs);
  return grouped;
}

/** The raw bytes of a delta chunk's base, fetched through `getBase` and checked for length. */
async function deltaBase(h: ChunkHeader, options: DecodeOptions): Promise<Uint8Array> {
  if (!options.getBase) throw new EngramError('InvalidArgument', `chunk is a delta against ${h.baseHash}; decodeChunk needs getBase`, { base: h.baseHash });
  const base = await options.getBase(h.baseHash!);
  if (base.byteLength !== h.rawLength) throw corrupt(`delta base is ${base.byteLength} bytes, expected ${h.rawLength}`);
  return base;
}

/**
 * Decodes a chunk object back into its raw bytes, bounding every length by the header's raw length,
 * and checks them against `expectedHash`. Every malformation is an `IntegrityMismatch`; damaged
 * bytes are never returned.
 */
export async function decodeChunk(encoded: Uint8Array, options: DecodeOptions = {}): Promise<Uint8Array> {
  const h = readChunkHeader(encoded);
  const payload = encoded.subarray(h.headerLength);
  let bytes: Uint8Array;
  if (h.codec === 'raw') {
    if (payload.byteLength !== h.rawLength) throw corrupt(`raw payload is ${payload.byteLength} bytes, header says ${h.rawLength}`);
    bytes = payload;
  } else if (h.codec === 'zstd') {
    bytes = await inflate(payload, h.rawLength);
  } else {
    if (h.width < 2) throw corrupt('per-plane codec with width 1');
    bytes = await decodePlanes(payload, h.width, h.rawLength);
  }
  const isDelta = h.transform === 'xor-delta' || h.transform === 'sub-delta';
  const base = isDelta ? await deltaBase(h, options) : undefined;
  if (h.width > 1 && h.transform !== 'none') {
    const grouped = bytes;
    // Ungrouping and undoing the delta are one pass (one kernel call) when the chunk is a delta.
    // The result comes from the thread's pool too; see writeHeader.
    const out = options.output?.(grouped.byteLength) ?? scratch.take(grouped.byteLength);
    bytes = base ? undoDeltaGrouped(grouped, base, h.width, h.transform === 'sub-delta' ? 'sub' : 'xor', out)
      : h.rotated ? ungroupRotated(grouped, h.width, out) : ungroupBytes(grouped, h.width, out);
    scratch.give(grouped);
  } else if (base) {
    const out = bytes === payload ? new Uint8Array(bytes) : bytes;
    if (h.transform === 'sub-delta') undoDelta(out, base, h.width, out);
    else for (let i = 0; i < out.byteLength; i++) out[i] = out[i]! ^ base[i]!;
    bytes = out;
  }
  if (options.output && !(h.width > 1 && h.transform !== 'none')) {
    // The paths that did not write into the output (a raw payload, one zstd frame): copy.
    const out = options.output(bytes.byteLength);
    if (out) {
      out.set(bytes);
      bytes = out;
    }
  }
  if (options.expectedHash !== undefined) {
    const actual = sha256Hex(bytes);
    if (actual !== options.expectedHash) {
      throw new EngramError('IntegrityMismatch', `chunk bytes hash to ${actual}, expected ${options.expectedHash}`, { expected: options.expectedHash, actual });
    }
  }
  return bytes;
}
