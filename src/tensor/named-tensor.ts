/**
 * @module The value types every layer passes tensors around as: plain data (`TensorData`), plain
 * data with a name (`NamedTensor`), and a named tensor whose bytes are loaded on demand
 * (`LazyNamedTensor`). Readers, writers, the repository and the training state share these instead
 * of each declaring its own copy.
 */
import type { DType } from './dtype.ts';

/**
 * A tensor as plain data: dtype, logical shape and little-endian C-order bytes. engram's `Tensor`
 * is one; so is `{ dtype: 'F32', shape, data: new Uint8Array(f32.buffer) }`.
 */
export interface TensorData {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Little-endian C-order bytes. */
  readonly data: Uint8Array;
}

/** A tensor as plain data with its name (in a file, a snapshot or a state group). */
export interface NamedTensor extends TensorData {
  readonly name: string;
}

/**
 * A named tensor whose bytes are read only when asked: what a reader yields and a streaming writer
 * consumes. `byteLength` is known up front so that a writer can plan headers and offsets; `load()`
 * returns the little-endian C-order bytes. Unless an implementation says otherwise, the bytes a
 * load returns stay valid only until the next load from the same source (a loader may reuse one
 * buffer): whoever keeps them longer copies them.
 */
export interface LazyNamedTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly byteLength: number;
  load(): Promise<Uint8Array>;
}
