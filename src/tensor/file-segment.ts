/**
 * @module The exact layout of a file as segments: literal byte ranges and ranges of tensors'
 * canonical bytes (DESIGN §2 "files"). Formats produce layouts; the repository stores them and
 * rebuilds files from them, so the types and the segment encodings live at the lowest layer.
 */
import { dtypeSize, type DType } from './dtype.ts';
import { byteswap, reorderFortran } from './reorder.ts';
import type { Shape } from './shape.ts';

/**
 * How the bytes of a tensor segment sit in the file relative to the tensor's canonical
 * little-endian C-order bytes. Absent fields mean "as canonical".
 */
export interface SegmentEncoding {
  /** The file stores the elements in Fortran (column-major) order. */
  readonly order?: 'F';
  /** The file stores each element big-endian. */
  readonly byteOrder?: 'big';
}

/** A range of the file copied verbatim from a literal byte stream. */
export interface LiteralSegment {
  readonly kind: 'literal';
  /** Offset into the file's literal stream. */
  readonly offset: number;
  readonly length: number;
}

/** A range of the file that is (an encoding of) a range of one tensor's canonical bytes. */
export interface TensorSegment {
  readonly kind: 'tensor';
  /** The tensor's name. */
  readonly tensor: string;
  /** Offset into the tensor's canonical bytes. With an `encoding`, always the whole tensor. */
  readonly offset: number;
  readonly length: number;
  readonly encoding?: SegmentEncoding;
}

/** One piece of a file's layout. */
export type FileSegment = LiteralSegment | TensorSegment;

/** True when the encoding changes bytes (so the segment must cover its whole tensor). */
export function isIdentityEncoding(encoding: SegmentEncoding | undefined): boolean {
  return encoding === undefined || (encoding.order === undefined && encoding.byteOrder === undefined);
}

/** Turns a tensor's canonical bytes into the bytes the file holds, per `encoding`. */
export function encodeSegmentBytes(canonical: Uint8Array, dtype: DType, shape: Shape, encoding: SegmentEncoding | undefined): Uint8Array {
  if (isIdentityEncoding(encoding)) return canonical;
  const width = dtypeSize(dtype);
  let out = canonical;
  if (encoding!.order === 'F') out = reorderFortran(out, shape, width, false);
  if (encoding!.byteOrder === 'big') out = byteswap(out, width);
  return out;
}

/** Turns the bytes a file holds into the tensor's canonical bytes, per `encoding`. */
export function decodeSegmentBytes(stored: Uint8Array, dtype: DType, shape: Shape, encoding: SegmentEncoding | undefined): Uint8Array {
  if (isIdentityEncoding(encoding)) return stored;
  const width = dtypeSize(dtype);
  let out = stored;
  if (encoding!.byteOrder === 'big') out = byteswap(out, width);
  if (encoding!.order === 'F') out = reorderFortran(out, shape, width, true);
  return out;
}
