/**
 * @module What a format reader returns: the tensors a file holds, and the file's exact layout as
 * literal byte ranges and tensor ranges, so that the file can be rebuilt byte for byte (DESIGN §2
 * "files").
 */
import type { LazyNamedTensor } from '../tensor/index.ts';

/** Names of the formats engram can read. `opaque` is any other file, kept as plain bytes. */
export type FormatName = 'safetensors' | 'npy' | 'npz' | 'gguf' | 'pytorch' | 'onnx' | 'tfjs' | 'hdf5' | 'opaque';

export type { FileSegment, LiteralSegment, SegmentEncoding, TensorSegment } from '../tensor/index.ts';
import type { FileSegment } from '../tensor/index.ts';

/**
 * A tensor found in a file; its bytes are loaded on demand so a reader never holds the whole file.
 * `name` is its name within the file (safetensors key, npz member name without `.npy`, '' for a
 * bare .npy); `load()` reads the canonical little-endian C-order bytes, checked against `byteLength`.
 */
export interface IngestedTensor extends LazyNamedTensor {
  /**
   * Set (to the reason) when no segment of the layout refers to this tensor because its bytes sit in
   * the file only in an encoded form the literal bytes keep (a deflated `.npz` member, a chunked or
   * gzip-filtered HDF5 dataset) and engram cannot rebuild that encoding from the values. Readers
   * that convert the file use the tensor; a repository keeps the file and does not store the
   * values a second time: it records the tensor as held inside the file (manifest version 4) and
   * decodes it from the rebuilt file when asked ({@link decodeFileTensor}).
   */
  readonly literalOnly?: string;
}

/**
 * A tensor the file holds whose values engram does not store on their own: an HDF5 dataset
 * compressed with a filter engram cannot decode, or a compressed member whose bytes stay literal
 * because re-compressing would not reproduce them. The file still restores byte for byte; asking
 * for the tensor says why it is not there.
 */
export interface WithheldTensor {
  /** Name within the file, as it would have been a tensor's. */
  readonly name: string;
  /** Why it is not a stored tensor, for the user ("… compressed with filter blosc (32001) …"). */
  readonly reason: string;
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
  /** Why a file that claims a format was kept opaque (the reader's "unsupported" reason), if it was. */
  readonly opaqueReason?: string;
  /** Tensors the file holds that are not stored on their own, and why (absent when none). */
  readonly withheld?: readonly WithheldTensor[];
  /** Free-form metadata the format carries (safetensors `__metadata__`), for display. */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Set when `tensors` are another file's own (a TF.js weight shard's weights are its model.json's):
   * that file's path relative to this file's directory, `/`-separated. A save holding both names
   * each tensor once, after that file (repo `FileInput.tensorsOf`).
   */
  readonly tensorsOf?: string;
}
