/**
 * @module The messages between engram and its h5wasm worker thread. HDF5 is parsed by the HDF5 C
 * library compiled to WebAssembly, which on a malformed file can abort, loop or exit; it therefore
 * runs in a worker that engram can terminate, and only these plain structured values cross.
 */

/** An attribute value as the worker reports it: text, a list of texts or numbers, or a number. */
export type Hdf5AttrValue = string | number | boolean | readonly (string | number | boolean)[] | null;

/** One attribute of a group or dataset. */
export interface Hdf5Attr {
  readonly name: string;
  readonly value: Hdf5AttrValue;
}

/** The stored type of a dataset, as HDF5 describes it (class numbers are H5T_class_t). */
export interface Hdf5TypeInfo {
  /** H5T class: 0 integer, 1 float, 3 string, 6 compound, 8 enum, … */
  readonly typeClass: number;
  /** Element size in bytes. */
  readonly size: number;
  readonly signed: boolean;
  readonly littleEndian: boolean;
  /** For enums: member name → value. */
  readonly enumMembers?: Readonly<Record<string, number>>;
  /** For enums: the base integer's size. */
  readonly enumBaseSize?: number;
}

/** One dataset found in the file. */
export interface Hdf5DatasetInfo {
  /** Path without the leading '/'. */
  readonly path: string;
  readonly type: Hdf5TypeInfo;
  /** Dimensions; [] for a scalar; null for a null dataspace. */
  readonly shape: readonly number[] | null;
  /** Chunk dimensions, or null for contiguous/compact storage. */
  readonly chunks: readonly number[] | null;
  /** Filter ids in the pipeline (1 deflate, 2 shuffle, …). */
  readonly filters: readonly number[];
  /** The filters' names as the file records them (`deflate`, `blosc`, `lzf`, …), in pipeline order. */
  readonly filterNames?: readonly string[];
  readonly attrs: readonly Hdf5Attr[];
  /** The dataset's elements, little-endian C order, when it is numeric and within the byte budget. */
  readonly data?: Uint8Array;
  /** Why the library could not read a numeric dataset's elements (then `data` is absent). */
  readonly readError?: string;
}

/** One group (the root is path ''). */
export interface Hdf5GroupInfo {
  readonly path: string;
  readonly attrs: readonly Hdf5Attr[];
  /** Child link names, in the order HDF5 lists them. */
  readonly children: readonly string[];
}

/** What the worker read from a file. */
export interface Hdf5Tree {
  readonly groups: readonly Hdf5GroupInfo[];
  readonly datasets: readonly Hdf5DatasetInfo[];
}

/** Bounds the worker applies while walking a file (all counts and bytes in total). */
export interface Hdf5ReadLimits {
  /** Most bytes of dataset elements read out in all. */
  readonly maxDataBytes: number;
  /** Most bytes of attribute values read in all. */
  readonly maxAttrBytes: number;
  /** Most groups + datasets + attributes visited. */
  readonly maxObjects: number;
  /** Deepest group nesting followed. */
  readonly maxDepth: number;
}

/** A dataset to write: dtype as an h5wasm dtype string ('<f4', '<i8', '<e', '|u1', …). */
export interface Hdf5WriteDataset {
  readonly path: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
  readonly attrs?: readonly Hdf5Attr[];
}

/** A file to write: groups (created in order, with attributes; '' is the root) and datasets. */
export interface Hdf5WriteRequest {
  readonly groups: readonly { readonly path: string; readonly attrs: readonly Hdf5Attr[] }[];
  readonly datasets: readonly Hdf5WriteDataset[];
}

/** A request to the worker. */
export type H5wasmRequest =
  | { readonly id: number; readonly op: 'read'; readonly bytes: Uint8Array; readonly limits: Hdf5ReadLimits }
  | { readonly id: number; readonly op: 'write'; readonly file: Hdf5WriteRequest };

/** The worker's answer. `fatal` means the wasm instance may be broken and the worker must be replaced. */
export type H5wasmResponse =
  | { readonly id: number; readonly ok: true; readonly tree?: Hdf5Tree; readonly bytes?: Uint8Array }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly limit?: boolean; readonly fatal: boolean };
