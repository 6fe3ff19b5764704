/** @module What `Repository.save` accepts: tensors, blobs, files as exact layouts, and metadata. */
import type { DType, FileSegment, LazyNamedTensor, Shape } from '../tensor/index.ts';
import type { JsonValue } from '../tensor/index.ts';
import type { SaveWait } from './save-intent.ts';

/**
 * A tensor to save: its bytes now (`data`, e.g. a Tensor) or on demand (`load`), or the promise that
 * it is `unchanged` since the parent snapshot.
 */
export interface TensorInput {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly data?: Uint8Array;
  readonly load?: () => Promise<Uint8Array>;
  /**
   * The caller knows these bytes equal the parent snapshot's tensor of the same name (a frozen layer,
   * an untouched embedding): its chunks are reused without reading or even hashing the bytes. The
   * parent must hold the tensor with the same dtype and shape, or the save fails with
   * `InvalidArgument`. An unchanged tensor costs nothing, and a changed one passed without the hint
   * costs only a hash per chunk when its chunks already exist.
   */
  readonly unchanged?: boolean;
}

/** A tensor inside a file, as a format reader reports it: a lazy named tensor (tensor/). */
export interface FileTensorInput extends LazyNamedTensor {
  /**
   * Set (to the reason) when the tensor's bytes are only inside the file's literal bytes, encoded
   * (formats/ `IngestedTensor.literalOnly`). Unless a segment refers to it, the tensor is then not
   * stored again: its entry records that it is held inside the file (`TensorEntry.inFile`) and the
   * SHA-256 of its values, so the file is stored once.
   */
  readonly literalOnly?: string;
  /**
   * Set when `load()` returns the bytes of this tensor's own file (`FileInput.original`) at
   * [readAt, readAt + byteLength) — what `ingestFiles` does for a tensor laid out whole and
   * unencoded. The layout check then has nothing to compare where a segment places those very bytes
   * (it still hashes them): the layout rebuilds the file there by construction.
   */
  readonly readAt?: number;
}

/**
 * A file to keep byte for byte: its layout from a format reader (formats/ `IngestedFile` fits),
 * plus its path, size, and its SHA-256 or its original bytes (or both). Tensor segments name tensors of `tensors`.
 */
export interface FileInput {
  readonly path: string;
  readonly format: string;
  readonly size: number;
  /**
   * The SHA-256 of the whole file. May be left out when `original` is given: the save then takes it
   * from the original bytes as it checks the layout (and, when given too, checks that they agree).
   */
  readonly sha256?: string;
  readonly literal: Uint8Array;
  readonly segments: readonly FileSegment[];
  readonly tensors: readonly FileTensorInput[];
  /**
   * Tensors the file holds that are not stored on their own (formats/ `IngestedFile.withheld`: an
   * undecodable HDF5 dataset, a compressed member kept as literal bytes), recorded so that asking
   * for one says why it is missing.
   */
  readonly withheld?: readonly { readonly name: string; readonly reason: string }[];
  /**
   * The path, in the same save, of the file whose tensors these are (a TF.js shard's weights are
   * its model.json's; formats/ `IngestedFile.tensorsOf`, resolved against the save's paths). When
   * that file is saved too and lists every tensor of this one with the same dtype and shape, this
   * file's tensor segments name that file's tensors and it adds none of its own: one weight, one
   * name. Otherwise this file keeps its own tensors.
   */
  readonly tensorsOf?: string;
  /**
   * The file's own bytes: fills `into` with the bytes at `offset` and resolves to how many it read
   * (fewer at the end of the file). When given, the save compares every piece of the layout — the
   * literal ranges and the tensor bytes exactly as stored — with these bytes before it commits, and
   * refuses (`IntegrityMismatch`, nothing committed) a layout that does not rebuild the file; the
   * file is then marked `layoutVerified` and a restore skips its whole-file SHA-256. The bytes must
   * not change until the save resolves. `ingestFiles` always passes it.
   */
  readonly original?: (offset: number, into: Uint8Array) => Promise<number>;
}

/** Progress of a long operation, in bytes. */
export interface Progress {
  readonly done: number;
  readonly total: number;
}

/** Options of `Repository.save`. */
export interface SaveOptions {
  /** The run the snapshot belongs to. */
  readonly run: string;
  /** Training step; defaults to one past the run's latest step (0 for a new run). */
  readonly step?: number;
  /** Parent snapshot ref; defaults to the run's latest snapshot; null starts a new lineage. */
  readonly parent?: string | null;
  readonly message?: string;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly meta?: Readonly<Record<string, JsonValue>>;
  /** Tensors by namespaced name (`model/…`, `optimizer/…`). */
  readonly tensors?: Readonly<Record<string, TensorInput>>;
  /** Opaque byte strings by name. */
  readonly blobs?: Readonly<Record<string, Uint8Array>>;
  /** Files kept as exact layouts; their tensors are named `<path>:<name>` (`<path>` for a bare .npy). */
  readonly files?: readonly FileInput[];
  /** Tags to point at the new snapshot once it is committed. */
  readonly tags?: readonly string[];
  readonly onProgress?: (p: Progress) => void;
  /** Told, at each poll, which garbage collections the save waits for before it starts, and how long. */
  readonly onWait?: (wait: SaveWait) => void;
}

/** The snapshot name of tensor `name` of file `path`. */
export function fileTensorName(path: string, name: string): string {
  return name === '' ? path : `${path}:${name}`;
}
