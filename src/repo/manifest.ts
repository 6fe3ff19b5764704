/**
 * @module Snapshot manifests: the immutable JSON record of one checkpoint (DESIGN §2–3). A manifest
 * names every chunk its tensors, blobs and files need, so GC and verify never open chunk objects
 * to find references. It carries a SHA-256 of its own body so a damaged manifest is detected.
 */
import { EngramError } from '../errors/index.ts';
import { byteLengthOf, isDType, numel, type DType, type FileSegment, type JsonValue, type Shape } from '../tensor/index.ts';
import { decodeChecksummed, encodeChecksummed } from './checksummed-json.ts';


/** A range of one chunk's raw bytes. An item's bytes are the concatenation of its refs. */
export interface ChunkRef {
  readonly hash: string;
  readonly offset: number;
  readonly length: number;
}

/** What the manifest records of each chunk object it uses. */
export interface ChunkInfo {
  /** Raw (decoded) size. */
  readonly size: number;
  /** Size of the stored object. */
  readonly stored: number;
  /** The chunk this one is a delta against, if any: GC keeps it alive. */
  readonly base?: string;
  /**
   * Links from this chunk to its keyframe (0 or absent for a keyframe). The manifest lists every
   * chunk of each base chain, so GC and restore planning never need to open chunk objects.
   */
  readonly depth?: number;
}

/**
 * One shard of a sharded tensor (saved by the ranks of a distributed job, distributed/): the box
 * `offsets` … `offsets + shape` of the global tensor, its bytes in C order of its own `shape`.
 */
export interface ShardEntry {
  /** Where the shard starts in the global tensor, one offset per dimension. */
  readonly offsets: readonly number[];
  /** The shard's own shape (same rank as the global tensor). */
  readonly shape: Shape;
  readonly byteLength: number;
  readonly chunks: readonly ChunkRef[];
}

/**
 * A tensor of the snapshot. A whole tensor's bytes are the concatenation of `chunks`. A sharded
 * tensor (manifest version 2) has `shards` instead, which tile the global `shape` exactly (no gap,
 * no overlap), and an empty `chunks`; `byteLength` is still the global tensor's.
 */
export interface TensorEntry {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly byteLength: number;
  readonly chunks: readonly ChunkRef[];
  readonly shards?: readonly ShardEntry[];
  /**
   * The tensor is held only inside a file of the snapshot, encoded in its literal bytes (a deflated
   * `.npz` member, a gzip-chunked HDF5 dataset), so the file is stored once rather than once more
   * as decoded values (manifest version 4). `chunks` is then empty; the values are decoded from the
   * rebuilt file by the format's reader and must hash to `sha256`.
   */
  readonly inFile?: { readonly path: string; readonly sha256: string };
}

/** An opaque byte string of the snapshot (free-form state, tokenizer files, …). */
export interface BlobEntry {
  readonly byteLength: number;
  readonly chunks: readonly ChunkRef[];
  /**
   * The bytes themselves, base64, for a blob of at most {@link INLINE_BLOB_MAX} bytes (manifest
   * version 3; `chunks` is then empty). The manifest's checksum covers them.
   */
  readonly inline?: string;
}

/**
 * Blobs up to this size live in the manifest rather than in a chunk object of their own. A
 * training checkpoint's small state (step, RNG, data position, metrics history) then costs no
 * object — and, on a local disk, no fsync — of its own: two fewer fsyncs per checkpoint.
 */
export const INLINE_BLOB_MAX = 16 * 1024;

/** A file the snapshot was made from, kept as an exact layout. */
export interface FileEntry {
  /** Relative path, `/`-separated. */
  readonly path: string;
  readonly format: string;
  readonly size: number;
  /** SHA-256 of the whole file (checked when it is rebuilt, unless `layoutVerified`). */
  readonly sha256: string;
  /**
   * Set when the save rebuilt the file from this layout and compared it byte for byte with the
   * original before committing: a restore then relies on the per-chunk hashes alone and does not
   * hash the whole file again. Advisory like `withheld` (an older build ignores it and checks the
   * SHA-256, which is still right), so it needs no manifest version of its own. Absent in snapshots
   * saved before the check existed and for files saved without their original bytes.
   */
  readonly layoutVerified?: true;
  /** The file's non-tensor bytes, concatenated. */
  readonly literal: BlobEntry;
  /** Segments in file order; tensor segments name snapshot tensors. */
  readonly segments: readonly FileSegment[];
  /**
   * Tensors of the file that are not snapshot tensors (their bytes are only inside the file's
   * literal bytes, e.g. behind a compression filter engram cannot decode), by snapshot tensor
   * name, with why. Advisory: an older build ignores it and still rebuilds the file, so it needs
   * no manifest version of its own. Absent when there are none.
   */
  readonly withheld?: readonly { readonly tensor: string; readonly reason: string }[];
}

/**
 * Manifest versions this build reads. Version 2 is version 1 plus `TensorEntry.shards`; version 3
 * is version 2 plus `BlobEntry.inline`; version 4 is version 3 plus `TensorEntry.inFile`. A manifest is written with the lowest version that holds
 * it, so snapshots without those features stay readable by older builds (which refuse a newer
 * manifest with `Unsupported` — and their GC then deletes nothing rather than miss its chunks).
 */
export const MANIFEST_VERSIONS: readonly number[] = [1, 2, 3, 4];

/**
 * The lowest manifest version that holds `tensors` and `blobs` (see {@link MANIFEST_VERSIONS}): 4
 * when a tensor is held in a file, 3 when a blob is inline, 2 when a tensor is sharded, else 1.
 * Every commit (ordinary and distributed) writes this version, so older builds keep reading what
 * uses none of the newer features.
 */
export function lowestManifestVersion(tensors: Readonly<Record<string, TensorEntry>>, blobs: Readonly<Record<string, BlobEntry>>): SnapshotManifest['version'] {
  const ts = Object.values(tensors);
  if (ts.some((t) => t.inFile !== undefined)) return 4;
  if (Object.values(blobs).some((b) => b.inline !== undefined)) return 3;
  return ts.some((t) => t.shards !== undefined) ? 2 : 1;
}

/** The body of a snapshot manifest. */
export interface SnapshotManifest {
  readonly format: 'engram.snapshot';
  readonly version: 1 | 2 | 3 | 4;
  readonly id: string;
  readonly run: string;
  readonly step: number;
  readonly parent: string | null;
  readonly createdAt: string;
  readonly message: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly meta: Readonly<Record<string, JsonValue>>;
  readonly tensors: Readonly<Record<string, TensorEntry>>;
  readonly blobs: Readonly<Record<string, BlobEntry>>;
  readonly files: readonly FileEntry[];
  readonly chunks: Readonly<Record<string, ChunkInfo>>;
}

/** The key of a snapshot's manifest in the store. */
export function manifestKey(id: string): string {
  return `snapshots/${id}.json`;
}

/** Serialises a manifest with its checksum. */
export function encodeManifest(m: SnapshotManifest): Uint8Array {
  return encodeChecksummed(m);
}

function bad(id: string, reason: string): EngramError {
  return new EngramError('IntegrityMismatch', `snapshot manifest ${id} is damaged: ${reason}`, { snapshot: id, reason });
}

/**
 * Parses and checks a stored manifest. A checksum mismatch or a malformed body is
 * `IntegrityMismatch`: a manifest is never half-trusted.
 */
export function decodeManifest(id: string, bytes: Uint8Array): SnapshotManifest {
  const body = decodeChecksummed(bytes, (why) => bad(id, why)) as SnapshotManifest;
  if (body.format !== 'engram.snapshot') throw bad(id, 'not a snapshot manifest');
  if (!MANIFEST_VERSIONS.includes(body.version)) {
    throw new EngramError('Unsupported', `snapshot ${id} has manifest version ${String(body.version)}, newer than this engram reads`, { snapshot: id });
  }
  if (body.id !== id) throw bad(id, `names itself ${String(body.id)}`);
  for (const [name, t] of Object.entries(body.tensors)) {
    if (!isDType(t.dtype)) throw bad(id, `tensor ${name} has unknown dtype ${String(t.dtype)}`);
    if (t.inFile !== undefined) {
      if (body.version < 4) throw bad(id, `tensor ${name} is held in a file in a version ${body.version} manifest`);
      const f = t.inFile;
      if (typeof f?.path !== 'string' || !body.files.some((x) => x.path === f.path) || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)
        || t.chunks.length !== 0 || t.shards !== undefined || byteLengthOf(t.dtype, t.shape) !== t.byteLength) {
        throw bad(id, `tensor ${name} has a malformed inFile record`);
      }
      continue;
    }
    if (t.shards === undefined) {
      checkRefs(id, name, t.chunks, t.byteLength, body.chunks);
      continue;
    }
    if (body.version < 2) throw bad(id, `tensor ${name} has shards in a version ${body.version} manifest`);
    const why = shardLayoutProblem(t);
    if (why !== undefined) throw bad(id, `tensor ${name}: ${why}`);
    for (const [i, sh] of t.shards.entries()) checkRefs(id, `${name} shard ${i}`, sh.chunks, sh.byteLength, body.chunks);
  }
  for (const [name, b] of Object.entries(body.blobs)) {
    if (b.inline === undefined) {
      checkRefs(id, name, b.chunks, b.byteLength, body.chunks);
      continue;
    }
    if (body.version < 3) throw bad(id, `blob ${name} is inline in a version ${body.version} manifest`);
    if (typeof b.inline !== 'string' || !Number.isSafeInteger(b.byteLength) || b.byteLength < 0 || b.byteLength > INLINE_BLOB_MAX
      || b.inline.length !== 4 * Math.ceil(b.byteLength / 3) || !/^[A-Za-z0-9+/]*={0,2}$/.test(b.inline)
      || (b.inline.length / 4) * 3 - (b.inline.match(/=*$/)?.[0].length ?? 0) !== b.byteLength || b.chunks.length !== 0) {
      throw bad(id, `blob ${name} has a malformed inline value`);
    }
  }
  for (const f of body.files) {
    checkRefs(id, f.path, f.literal.chunks, f.literal.byteLength, body.chunks);
    if (f.layoutVerified !== undefined && f.layoutVerified !== true) throw bad(id, `file ${f.path} has a malformed layoutVerified flag`);
    if (f.withheld !== undefined && (!Array.isArray(f.withheld) || !f.withheld.every((w) => typeof w?.tensor === 'string' && typeof w?.reason === 'string'))) {
      throw bad(id, `file ${f.path} has a malformed withheld list`);
    }
  }
  return body;
}

function checkRefs(id: string, item: string, refs: readonly ChunkRef[], byteLength: number, chunks: SnapshotManifest['chunks']): void {
  let total = 0;
  for (const r of refs) {
    const info = chunks[r.hash];
    if (!info || r.offset < 0 || r.length < 0 || r.offset + r.length > info.size) throw bad(id, `${item} refers to a chunk range the manifest does not describe`);
    total += r.length;
  }
  if (total !== byteLength) throw bad(id, `${item} chunks cover ${total} bytes, not ${byteLength}`);
}

/**
 * Why a sharded tensor's shards do not tile its global shape exactly (undefined when they do):
 * every shard has the tensor's rank, lies inside it, has the byte length its shape needs, no two
 * overlap, and together they cover every element. Shared by manifest decoding and the distributed
 * committer, so a snapshot never names a tensor with holes.
 */
export function shardLayoutProblem(t: Pick<TensorEntry, 'dtype' | 'shape' | 'byteLength' | 'chunks' | 'shards'>): string | undefined {
  const shards = t.shards ?? [];
  if (!Array.isArray(t.shape) || !Array.isArray(shards)) return 'malformed shape or shard list';
  if (t.chunks.length !== 0) return 'a sharded tensor must not also have whole-tensor chunks';
  let global: number;
  let volume = 0;
  try {
    if (byteLengthOf(t.dtype, t.shape) !== t.byteLength) return `byte length ${t.byteLength} does not match its shape`;
    global = numel(t.shape);
    for (const [i, sh] of shards.entries()) {
      if (!Array.isArray(sh.offsets) || !Array.isArray(sh.shape) || sh.offsets.length !== t.shape.length || sh.shape.length !== t.shape.length) {
        return `shard ${i} does not have the tensor's ${t.shape.length} dimensions`;
      }
      for (let d = 0; d < t.shape.length; d++) {
        const o = sh.offsets[d]!;
        if (!Number.isSafeInteger(o) || o < 0 || o + sh.shape[d]! > t.shape[d]!) return `shard ${i} [${boxText(sh)}] lies outside [${t.shape.join(', ')}]`;
      }
      if (byteLengthOf(t.dtype, sh.shape) !== sh.byteLength) return `shard ${i} byte length ${sh.byteLength} does not match its shape`;
      volume += numel(sh.shape);
    }
  } catch {
    return 'a shape is not a list of non-negative integers';
  }
  if (volume !== global) return `shards hold ${volume} elements, the tensor ${global}`;
  // Equal volume and no overlap means exact cover. Quadratic, but shard counts are world sizes.
  for (let i = 0; i < shards.length; i++) {
    for (let j = i + 1; j < shards.length; j++) {
      if (boxesOverlap(shards[i]!, shards[j]!)) return `shards ${i} [${boxText(shards[i]!)}] and ${j} [${boxText(shards[j]!)}] overlap`;
    }
  }
  return undefined;
}

function boxesOverlap(a: Pick<ShardEntry, 'offsets' | 'shape'>, b: Pick<ShardEntry, 'offsets' | 'shape'>): boolean {
  for (let d = 0; d < a.offsets.length; d++) {
    if (a.shape[d] === 0 || b.shape[d] === 0) return false;
    if (a.offsets[d]! + a.shape[d]! <= b.offsets[d]! || b.offsets[d]! + b.shape[d]! <= a.offsets[d]!) return false;
  }
  return true;
}

/** `0:2, 4:8` for a box: start:end per dimension. */
export function boxText(box: Pick<ShardEntry, 'offsets' | 'shape'>): string {
  return box.offsets.map((o, d) => `${o}:${o + box.shape[d]!}`).join(', ');
}

/** Every chunk hash a manifest keeps alive, including delta bases. */
export function liveChunks(m: SnapshotManifest): Set<string> {
  const live = new Set<string>();
  for (const [hash, info] of Object.entries(m.chunks)) {
    live.add(hash);
    if (info.base) live.add(info.base);
  }
  return live;
}

/** Bytes the snapshot stands for: tensors, blobs and files' literal bytes. */
export function logicalBytes(m: SnapshotManifest): number {
  let n = 0;
  for (const t of Object.values(m.tensors)) n += t.byteLength;
  for (const b of Object.values(m.blobs)) n += b.byteLength;
  for (const f of m.files) n += f.literal.byteLength;
  return n;
}
