/**
 * @module What a format reader returns: the tensors a file holds, and the file's exact layout as
 * literal byte ranges and tensor ranges, so that the file can be rebuilt byte for byte (DESIGN §2
 * "files").
 */
import type { DType, Shape } from '../tensor/index.ts';

/** Names of the formats engram can read. `opaque` is any other file, kept as plain bytes. */
export type FormatName = 'safetensors' | 'npy' | 'npz' | 'opaque';

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

/** A range of the file copied verbatim from the reader's `literal` stream. */
export interface LiteralSegment {
  readonly kind: 'literal';
  /** Offset into the IngestedFile's literal stream. */
  readonly offset: number;
  readonly length: number;
}

/** A range of the file that is (an encoding of) a range of one tensor's canonical bytes. */
export interface TensorSegment {
  readonly kind: 'tensor';
  /** The tensor's name within the file (as in {@link IngestedTensor.name}). */
  readonly tensor: string;
  /** Offset into the tensor's canonical bytes. With an `encoding`, always the whole tensor. */
  readonly offset: number;
  readonly length: number;
  readonly encoding?: SegmentEncoding;
}

/** One piece of a file's layout. */
export type FileSegment = LiteralSegment | TensorSegment;

/** A tensor found in a file; its bytes are loaded on demand so a reader never holds the whole file. */
export interface IngestedTensor {
  /** Name within the file (safetensors key, npz member name without `.npy`, '' for a bare .npy). */
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
  /** Byte length of the canonical bytes (dtype size × number of elements). */
  readonly byteLength: number;
  /** Reads the canonical little-endian C-order bytes, checked against `byteLength`. */
  load(): Promise<Uint8Array>;
}

/** The result of reading one file. */
export interface IngestedFile {
  readonly format: FormatName;
  /** Size of the file in bytes. */
  readonly size: number;
  readonly tensors: readonly IngestedTensor[];
  /** The bytes of the file that are not tensor data (headers, padding, zip records), concatenated. */
  readonly literal: Uint8Array;
  /** The file, in order: concatenating the segments rebuilds it exactly. */
  readonly segments: readonly FileSegment[];
  /** Free-form metadata the format carries (safetensors `__metadata__`), for display. */
  readonly metadata?: Readonly<Record<string, string>>;
}
