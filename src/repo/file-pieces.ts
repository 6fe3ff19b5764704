/**
 * @module filePieces: a snapshot file rebuilt as a stream of pieces taken straight from the decoded
 * chunks (no whole-tensor or whole-file assembly buffer), with the next chunks decoding while the
 * caller writes the current ones.
 */
import { createHash, type Hash } from 'node:crypto';
import { EngramError } from '../errors/index.ts';
import { encodeSegmentBytes, isIdentityEncoding, type SegmentEncoding } from '../tensor/index.ts';
import type { ChunkReader } from './chunk-reader.ts';
import type { ChunkRef, FileEntry, SnapshotManifest } from './manifest.ts';

/**
 * Chunks a file keeps decoding ahead of the piece its reader is writing. Each is at most a chunk
 * (4 MiB by default) of memory; 4 keeps both codec workers busy while one file is written, and a
 * directory restore runs two files at once (see restore-snapshot.ts for what was measured).
 */
export const FILE_READ_AHEAD = 4;

/** One piece to produce: a range of one chunk, or a whole re-encoded tensor (Fortran, big-endian). */
type Unit =
  | { readonly kind: 'chunk'; readonly hash: string; readonly from: number; readonly to: number; readonly item: string }
  | { readonly kind: 'encoded'; readonly tensor: string; readonly encoding: SegmentEncoding | undefined; readonly from: number; readonly to: number };

/** The chunk ranges that hold bytes [start, end) of the concatenation of `refs`. */
function* refRanges(refs: readonly ChunkRef[], start: number, end: number, item: string): Generator<Unit> {
  let pos = 0;
  for (const r of refs) {
    const next = pos + r.length;
    if (next > start && pos < end) {
      const a = Math.max(start, pos) - pos;
      const b = Math.min(end, next) - pos;
      yield { kind: 'chunk', hash: r.hash, from: r.offset + a, to: r.offset + b, item };
    }
    pos = next;
    if (pos >= end) return;
  }
}

/** The file's segments as units, in file order; a segment naming no tensor is `IntegrityMismatch`. */
function* unitsOf(manifest: SnapshotManifest, file: FileEntry): Generator<Unit> {
  const item = `file ${file.path}`;
  for (const seg of file.segments) {
    if (seg.kind === 'literal') {
      yield* refRanges(file.literal.chunks, seg.offset, seg.offset + seg.length, item);
      continue;
    }
    const t = manifest.tensors[seg.tensor];
    if (!t) throw new EngramError('IntegrityMismatch', `${item} refers to missing tensor ${seg.tensor}`, { path: file.path, tensor: seg.tensor });
    if (isIdentityEncoding(seg.encoding)) yield* refRanges(t.chunks, seg.offset, seg.offset + seg.length, `tensor ${seg.tensor}`);
    else yield { kind: 'encoded', tensor: seg.tensor, encoding: seg.encoding, from: seg.offset, to: seg.offset + seg.length };
  }
}

/** Options of {@link filePieces}. */
export interface FilePiecesOptions {
  /** Chunks fetched and decoded ahead of the piece being consumed (default {@link FILE_READ_AHEAD}). */
  readonly readAhead?: number;
  /**
   * Each piece is valid only until the next one is asked for (or the iteration ends): a piece that
   * is a whole decoded chunk is then the decoder's own memory, given back to the codec pool for the
   * next chunk instead of copied out into fresh memory. For a consumer that writes each piece out
   * before asking for the next (`writeFileAtomic`); one that keeps pieces must not set it.
   */
  readonly transient?: boolean;
}

/** A produced piece and what gives its memory back once it has been consumed. */
interface Produced {
  readonly piece: Uint8Array;
  readonly release?: () => void;
}

/**
 * Rebuilds `file` piece by piece, in order, each piece a view of a decoded chunk (verified against
 * its key by the reader) or of a re-encoded tensor; never reused unless `options.transient`, so a
 * caller may hold on to one. `readAhead` chunks are fetched and decoded ahead of the piece being
 * consumed.
 *
 * The whole file's SHA-256 is checked after the last piece only when `file.layoutVerified` is not
 * set (snapshots saved before the save-time layout check, or files saved without their original):
 * a save that sets it has rebuilt the file from this very layout and compared it with the original
 * bytes, so the per-chunk hashes are the only check left to make (docs/ARCHITECTURE.md, "Files").
 * A mismatch, or a rebuilt size other than `file.size`, throws `IntegrityMismatch` after the last
 * piece, so a caller writing to a temp file discards it.
 */
export async function* filePieces(reader: ChunkReader, manifest: SnapshotManifest, file: FileEntry, options: FilePiecesOptions = {}): AsyncGenerator<Uint8Array> {
  const readAhead = options.readAhead ?? FILE_READ_AHEAD;
  const transient = options.transient === true;
  const units = unitsOf(manifest, file);
  const hash: Hash | undefined = file.layoutVerified === true ? undefined : createHash('sha256');
  const window: Promise<Produced>[] = [];
  const fill = (): void => {
    while (window.length <= readAhead) {
      const next = units.next();
      if (next.done) return;
      const p = produce(reader, manifest, next.value, transient);
      // Awaited in order below; one the caller never reaches (it stopped early) must not go unhandled.
      p.catch(() => {});
      window.push(p);
    }
  };
  let size = 0;
  let held: Produced | undefined;
  try {
    fill();
    while (window.length > 0) {
      const produced = await window.shift()!;
      held = produced;
      fill();
      hash?.update(produced.piece);
      size += produced.piece.byteLength;
      yield produced.piece;
      held = undefined;
      produced.release?.();
    }
  } finally {
    held?.release?.();
    // Stopped early (the consumer failed, or a chunk did): what was decoded ahead goes back too.
    for (const p of window) void p.then((q) => q.release?.(), () => {});
  }
  const actual = hash?.digest('hex');
  if (size !== file.size || (actual !== undefined && actual !== file.sha256)) {
    throw new EngramError('IntegrityMismatch', `file ${file.path} rebuilt to ${size} bytes${actual ? ` with SHA-256 ${actual}` : ''}, expected ${file.size} bytes${actual ? ` ${file.sha256}` : ''}`, {
      path: file.path, expected: file.sha256, ...(actual ? { actual } : {}),
    });
  }
}

async function produce(reader: ChunkReader, manifest: SnapshotManifest, u: Unit, transient: boolean): Promise<Produced> {
  if (u.kind === 'chunk') {
    // A whole chunk is borrowed (its memory recycled once written); a range of one (a bundle
    // member, a file's header in a bundle) comes from the reader's cache for the other ranges.
    const whole = transient && u.from === 0 && manifest.chunks[u.hash]?.size === u.to;
    const { raw, release } = whole ? await reader.borrow(u.hash, u.item, manifest.chunks) : { raw: await reader.chunk(u.hash, u.item), release: undefined };
    if (u.to > raw.byteLength) {
      release?.();
      throw new EngramError('IntegrityMismatch', `${u.item}: chunk ${u.hash} has ${raw.byteLength} bytes, the manifest needs ${u.to}`, { item: u.item, chunk: u.hash });
    }
    return { piece: raw.subarray(u.from, u.to), ...(release ? { release } : {}) };
  }
  const t = manifest.tensors[u.tensor]!;
  const whole = await reader.read(t.chunks, t.byteLength, `tensor ${u.tensor}`, undefined, undefined, manifest.chunks);
  return { piece: encodeSegmentBytes(whole, t.dtype, t.shape, u.encoding).subarray(u.from, u.to) };
}
