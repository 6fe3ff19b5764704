/**
 * @module The one interface every file format implements — how it is recognised, read, and (when
 * engram writes it) written, and which dtypes it can hold — so that `readTensorFile`,
 * `writeTensorFile` and friends dispatch through the registry (format-registry.ts) instead of a
 * switch per operation, and a conformance suite can run every format the same way.
 */
import type { EngramError } from '../errors/index.ts';
import type { DType, LazyNamedTensor, NamedTensor } from '../tensor/index.ts';
import type { ByteSource } from './byte-source.ts';
import type { FormatName, IngestedFile } from './ingested-file.ts';
import type { TensorMeta, WriteSteps } from './write-steps.ts';

/** The formats engram can write a set of tensors as (the CLI's `--format` names). */
export type WritableFormat = 'safetensors' | 'npz' | 'gguf' | 'npy' | 'tfjs' | 'pt' | 'h5';

/** What a detector is shown of a file. */
export interface FileProbe {
  readonly src: ByteSource;
  /** The file's first 8 bytes (all of it when shorter). */
  readonly head: Uint8Array;
  /** `src.name` in lower case, for extension tests. */
  readonly lowerName: string;
}

/** Reads a file a detector recognised; `options` is the caller's whole options bag (each format reads its own key). */
export type FormatReader<R> = (src: ByteSource, options: R) => Promise<IngestedFile>;

/**
 * A detector's answer: a reader when the file is this format; `'opaque'` when the file is this
 * format's kind but holds no tensors (a `.json` that is no TF.js model), so it is kept as plain
 * bytes and no later detector is tried; undefined when the file is not this format.
 */
export type Detection<R> = FormatReader<R> | 'opaque' | undefined;

/** One way a format recognises a file. A format may have several, at different precedences. */
export interface FormatDetector<R = object> {
  /** What it looks at: magic bytes, the file's name, or the content (it reads more of the file). */
  readonly by: 'magic' | 'name' | 'content';
  /**
   * Its place in the order `readTensorFile` asks detectors, lowest first. The order matters:
   * cheap magic checks before content probes, and a name rule (`.safetensors`) only after the
   * magics a renamed file may carry (a PyTorch zip named `.bin`).
   */
  readonly precedence: number;
  /**
   * True when a valid file holding what engram lacks (the reader's FormatError whose reason starts
   * with "unsupported") is kept opaque, with the reason and any withheld tensors, instead of refused.
   */
  readonly opaqueWhenUnsupported: boolean;
  /**
   * A magic or name rule never throws. A content probe that is its reader (ONNX external data, a
   * TF.js shard) throws what that reader throws on a file it recognised but found broken.
   */
  detect(probe: FileProbe): Detection<R> | Promise<Detection<R>>;
}

/**
 * The detector of a format whose files begin with `magic`, whatever their name: it claims a file
 * whose first bytes are the magic for `reader`, and a valid file of what engram lacks is kept opaque.
 */
export function magicDetector<R>(magic: readonly number[], precedence: number, reader: FormatReader<R>): FormatDetector<R> {
  return { by: 'magic', precedence, opaqueWhenUnsupported: true, detect: ({ head }) => (magic.every((b, i) => head[i] === b) ? reader : undefined) };
}

/** A file of a directory format, whole, by its path relative to the directory. */
export interface DirectoryFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** A file of a directory format, from pieces produced as it is written (a streamed shard). */
export interface StreamedDirectoryFile {
  readonly path: string;
  readonly pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

/** The write options every format understands: string metadata, where the format has somewhere to put it. */
export interface WithMetadata {
  /** safetensors `__metadata__`, GGUF string key/values, HDF5 attributes, TF.js `userDefinedMetadata`. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** How a writer produces its output; `W` is the caller's options bag (metadata and per-format keys). */
export type FormatOutput<W> =
  /** One file, built by steps (see write-steps.ts): whole in memory, or streamed one tensor at a time. */
  | {
    readonly kind: 'file';
    write(tensors: readonly NamedTensor[], options: W): Uint8Array;
    steps(tensors: readonly TensorMeta[], options: W): WriteSteps;
  }
  /** One file built whole by an engine off the main thread (h5wasm): asynchronous only, and not streamed. */
  | {
    readonly kind: 'whole';
    /** Who builds it, for the refusal of a synchronous write ("h5wasm in a worker thread"). */
    readonly builtBy: string;
    write(tensors: readonly NamedTensor[], options: W): Promise<Uint8Array>;
  }
  /** A directory of files (TF.js: model.json and its shards). */
  | {
    readonly kind: 'directory';
    /** What the directory holds, for the refusal of a one-file write ("model.json and shards"). */
    readonly holds: string;
    write(tensors: readonly NamedTensor[], options: W): DirectoryFile[];
    stream(tensors: readonly LazyNamedTensor[], options: W): StreamedDirectoryFile[];
  };

/** How a format is written, when engram writes it. */
export interface TensorFormatWriter<W = object> {
  /** Its `--format` name (`pt` and `h5` differ from the read names `pytorch` and `hdf5`). */
  readonly name: WritableFormat;
  /**
   * True when the format stores a tensor of `dtype` without losing its type or shape. Never asked
   * about `opaque:` dtypes, which no format can hold (the registry refuses them first).
   */
  canHold(dtype: DType): boolean;
  /** A refusal of the set as a whole, before any dtype is looked at (.npy holds exactly one tensor). */
  refuseSet?(tensors: readonly Pick<NamedTensor, 'name' | 'dtype'>[]): EngramError | undefined;
  readonly output: FormatOutput<W>;
}

/**
 * A file format: its name as `readTensorFile` reports it, the file extensions it is found under
 * (lower case, with the dot; the first is the one written), its detectors, and its writer when
 * engram writes it. `R` and `W` are the read and write options bags it accepts.
 */
export interface TensorFormat<R = object, W = object> {
  readonly name: Exclude<FormatName, 'opaque'>;
  readonly extensions: readonly string[];
  readonly detectors: readonly FormatDetector<R>[];
  readonly writer?: TensorFormatWriter<W>;
}
