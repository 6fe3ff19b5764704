/**
 * @module Turns "where the tensors sit in the file" into a full layout: every byte not covered by a
 * tensor range becomes literal, so the segments rebuild the file exactly whatever else it holds
 * (padding, holes, trailing bytes, zip records).
 */
import { formatError } from '../errors/index.ts';
import type { FileSegment, SegmentEncoding } from '../tensor/index.ts';
import type { ByteSource } from './byte-source.ts';

/** A range of the file that holds (an encoding of) a tensor's canonical bytes. */
export interface TensorRange {
  /** Offset of the range in the file. */
  readonly start: number;
  readonly length: number;
  readonly tensor: string;
  /**
   * Where the range starts in the tensor's canonical bytes (default 0): a tensor split across
   * files (TF.js weight shards) is a range of each. Only without an encoding.
   */
  readonly tensorOffset?: number;
  readonly encoding?: SegmentEncoding | undefined;
}

/** A file's literal bytes and segments. */
export interface FileLayout {
  readonly literal: Uint8Array;
  readonly segments: readonly FileSegment[];
}

/**
 * Builds the layout of `src` given its tensor ranges (any order; empty ones are dropped). Ranges
 * must lie inside the file and not overlap; readers check this first, so a failure here is still
 * reported as a FormatError rather than a crash.
 */
export async function layoutFile(src: ByteSource, ranges: readonly TensorRange[]): Promise<FileLayout> {
  const sorted = ranges.filter((r) => r.length > 0).sort((a, b) => a.start - b.start);
  const parts: Uint8Array[] = [];
  const segments: FileSegment[] = [];
  let literalLength = 0;
  let at = 0;
  const addLiteral = async (end: number): Promise<void> => {
    if (end <= at) return;
    parts.push(await src.read(at, end - at));
    segments.push({ kind: 'literal', offset: literalLength, length: end - at });
    literalLength += end - at;
  };
  for (const r of sorted) {
    if (r.start < at || r.start + r.length > src.size) {
      throw formatError(src.name, r.start, `tensor ${JSON.stringify(r.tensor)} overlaps another range or runs past the end of the file`);
    }
    await addLiteral(r.start);
    segments.push({
      kind: 'tensor', tensor: r.tensor, offset: r.tensorOffset ?? 0, length: r.length,
      ...(r.encoding && (r.encoding.order || r.encoding.byteOrder) ? { encoding: r.encoding } : {}),
    });
    at = r.start + r.length;
  }
  await addLiteral(src.size);
  const literal = new Uint8Array(literalLength);
  let o = 0;
  for (const p of parts) {
    literal.set(p, o);
    o += p.byteLength;
  }
  return { literal, segments };
}
