/**
 * @module Writes a set of tensors as one file in a chosen format, after checking that the format
 * can hold every tensor, so a caller gets one `Unsupported` error naming the first tensor that
 * does not fit instead of a half-written file.
 */
import { EngramError } from '../errors/index.ts';
import type { DType } from '../tensor/index.ts';
import { ggmlTypeByName } from './gguf/ggml-type.ts';
import { hdf5WriteDtype } from './hdf5/hdf5-dtype.ts';
import { writeHdf5 } from './hdf5/write-hdf5.ts';
import { ggufSteps, writeGguf } from './gguf/write-gguf.ts';
import { npySteps, writeNpy } from './numpy/write-npy.ts';
import { npzSteps, writeNpz } from './numpy/write-npz.ts';
import { TORCH_STORAGE_CLASSES } from './pytorch/write-pytorch-pickle.ts';
import { pytorchSteps, writePytorch, type WritePytorchOptions } from './pytorch/write-pytorch.ts';
import { safetensorsSteps, writeSafetensors } from './safetensors/write-safetensors.ts';
import type { DirectoryFile } from './tfjs/write-model-directory.ts';
import { streamTfjsModel, TFJS_WRITABLE_DTYPES, writeTfjsModel, type TfjsStreamedFile } from './tfjs/write-tfjs-model.ts';
import { streamSteps, type LazyTensorInput, type WriteSteps } from './write-steps.ts';

/** The formats engram can write a set of tensors as. */
export type WritableFormat = 'safetensors' | 'npz' | 'gguf' | 'npy' | 'tfjs' | 'pt' | 'h5';

/** Every writable format, in the order a suggestion prefers them. */
export const WRITABLE_FORMATS: readonly WritableFormat[] = ['safetensors', 'npz', 'gguf', 'npy', 'tfjs', 'pt', 'h5'];

/** One tensor to write: its name in the file, dtype, logical shape and little-endian C-order bytes. */
export interface TensorFileInput {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

// The dtypes numpy has a type for (npy-dtype.ts maps exactly these); BF16 and FP8 are not among them.
const NUMPY_DTYPES: ReadonlySet<DType> = new Set<DType>(['F16', 'F32', 'F64', 'I8', 'I16', 'I32', 'I64', 'U8', 'U16', 'U32', 'U64', 'BOOL']);

/** True when `format` can store a tensor of `dtype` without losing its type or shape. */
export function canHold(format: WritableFormat, dtype: DType): boolean {
  // Opaque quantized blocks are stored with shape = byte count: their logical (element) shape is
  // gone, so no format can be told what they are — not even GGUF, whose tensor infos count elements.
  if (dtype.startsWith('opaque:')) return false;
  switch (format) {
    case 'safetensors':
      return true;
    case 'npz':
    case 'npy':
      return NUMPY_DTYPES.has(dtype);
    case 'gguf':
      return ggmlTypeByName(dtype)?.dtype === dtype;
    case 'tfjs':
      return TFJS_WRITABLE_DTYPES.includes(dtype);
    case 'pt':
      return TORCH_STORAGE_CLASSES[dtype] !== undefined;
    case 'h5':
      return hdf5WriteDtype(dtype) !== undefined;
  }
}

/**
 * The first tensor `format` cannot hold, as an `Unsupported` error naming it and a format that
 * can; undefined when every tensor fits.
 */
export function checkWritable(format: WritableFormat, tensors: readonly Pick<TensorFileInput, 'name' | 'dtype'>[]): EngramError | undefined {
  if (format === 'npy' && tensors.length !== 1) {
    return new EngramError('Unsupported', `.npy holds exactly one tensor, not ${tensors.length}; write .npz or .safetensors instead`, {
      format, tensors: tensors.length, suggest: 'npz',
    }, { hint: 'Write --format npz or safetensors (one file of many tensors), or pick one tensor (engram get … -o out.npy).' });
  }
  const bad = tensors.find((t) => !canHold(format, t.dtype));
  if (!bad) return undefined;
  const suggest = WRITABLE_FORMATS.find((f) => f !== 'npy' && canHold(f, bad.dtype));
  const advice = suggest
    ? `write .${suggest} instead`
    : 'no writable format can hold quantized blocks (their element shape is not kept); keep the original file, which `engram restore` gives back byte for byte';
  return new EngramError('Unsupported', `${format} cannot hold tensor ${JSON.stringify(bad.name)} of dtype ${bad.dtype}; ${advice}`, {
    format, tensor: bad.name, dtype: bad.dtype, ...(suggest ? { suggest } : {}),
  }, { hint: suggest ? `Write --format ${suggest} (or a .${suggest} file), which holds ${bad.dtype}.` : 'Keep the original file: `engram restore` gives it back byte for byte.' });
}

/**
 * The bytes of `tensors` as one file of `format`. Throws `Unsupported` (naming the first tensor
 * that does not fit) before writing anything. `metadata` goes to safetensors `__metadata__` or
 * GGUF string key/values; npz and npy have nowhere to put it.
 *
 * @example writeTensorFile('npz', [{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(8) }])
 */
export function writeTensorFile(format: WritableFormat, tensors: readonly TensorFileInput[], metadata?: Readonly<Record<string, string>>): Uint8Array {
  const refused = checkWritable(format, tensors);
  if (refused) throw refused;
  switch (format) {
    case 'safetensors':
      return writeSafetensors(tensors, metadata);
    case 'npz':
      return writeNpz(tensors);
    case 'npy':
      return writeNpy(tensors[0]!);
    case 'gguf':
      return writeGguf({
        metadata: Object.entries(metadata ?? {}).map(([key, value]) => ({ key, type: 'STRING' as const, value })),
        // Dense ggml type names are the engram dtype names (checked by canHold).
        tensors: tensors.map((t) => ({ name: t.name, type: t.dtype, shape: t.shape, data: t.data })),
      });
    case 'pt':
      // A state dict (OrderedDict of the tensors by name), laid out as torch.save writes it.
      return writePytorch(tensors);
    case 'tfjs':
      throw new EngramError('InvalidArgument', 'tfjs is written as a directory (model.json and shards): use writeTensorDirectory', { format });
    case 'h5':
      throw new EngramError('InvalidArgument', 'h5 is written by h5wasm in a worker thread: use writeTensorFileAsync', { format });
  }
}

/**
 * {@link writeTensorFile} for every single-file format, including h5, which h5wasm writes in a
 * worker thread. `metadata` becomes HDF5 string attributes (see writeHdf5).
 *
 * @example const bytes = await writeTensorFileAsync('h5', tensors);
 */
export async function writeTensorFileAsync(format: WritableFormat, tensors: readonly TensorFileInput[], metadata?: Readonly<Record<string, string>>): Promise<Uint8Array> {
  if (format !== 'h5') return writeTensorFile(format, tensors, metadata);
  const refused = checkWritable(format, tensors);
  if (refused) throw refused;
  return writeHdf5(tensors, metadata);
}

/** True for a format written as a directory of files (TF.js: model.json and its weight shards) rather than one file. */
export function isDirectoryFormat(format: WritableFormat): format is 'tfjs' {
  return format === 'tfjs';
}

/**
 * The files of `tensors` as a directory format, `model.json` first. Tensors named `optimizer/…`
 * go into TF.js's optimizer group (as `includeOptimizer` writes it); `metadata` becomes
 * `userDefinedMetadata`. Throws `Unsupported` (naming the first tensor that does not fit) first.
 *
 * @example await writeModelDirectory('web_model', writeTensorDirectory('tfjs', tensors));
 */
export function writeTensorDirectory(format: 'tfjs', tensors: readonly TensorFileInput[], metadata?: Readonly<Record<string, string>>): DirectoryFile[] {
  const refused = checkWritable(format, tensors);
  if (refused) throw refused;
  const isOptimizer = (t: TensorFileInput): boolean => t.name.startsWith('optimizer/');
  return writeTfjsModel(tensors.filter((t) => !isOptimizer(t)), { optimizer: tensors.filter(isOptimizer), ...(metadata ? { metadata } : {}) });
}

/** What {@link streamTensorFile} writes besides the tensors. */
export interface StreamTensorFileOptions {
  /** safetensors `__metadata__`, GGUF string key/values or HDF5 attributes, as {@link writeTensorFile} takes it. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** For pt: the checkpoint object and archive name (default: a state dict). */
  readonly torch?: WritePytorchOptions;
}

/**
 * The bytes of one file of `format`, in pieces, each tensor loaded only when the writer reaches
 * it and dropped once it is written: the same bytes {@link writeTensorFile} (or, for pt,
 * writePytorch) gives, with one tensor in memory at a time when the consumer writes each piece
 * before pulling the next (writeFileAtomic does). Throws `Unsupported` as checkWritable does,
 * before loading anything. h5 is the exception: h5wasm builds the whole file in its worker, so
 * every tensor is loaded first and the file is held whole (about three times the tensors' bytes).
 *
 * @example await writeFileAtomic('model.safetensors', streamTensorFile('safetensors', lazyTensors));
 */
export function streamTensorFile(format: Exclude<WritableFormat, 'tfjs'>, tensors: readonly LazyTensorInput[], options: StreamTensorFileOptions = {}): AsyncGenerator<Uint8Array> {
  const refused = checkWritable(format, tensors);
  if (refused) throw refused;
  if (format === 'h5') return hdf5Whole(tensors, options.metadata);
  return streamSteps(fileSteps(format, tensors, options), tensors);
}

function fileSteps(format: Exclude<WritableFormat, 'tfjs' | 'h5'>, tensors: readonly LazyTensorInput[], options: StreamTensorFileOptions): WriteSteps {
  switch (format) {
    case 'safetensors':
      return safetensorsSteps(tensors, options.metadata);
    case 'npz':
      return npzSteps(tensors);
    case 'npy':
      return npySteps(tensors[0]!);
    case 'gguf':
      return ggufSteps({
        metadata: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, type: 'STRING' as const, value })),
        tensors: tensors.map((t) => ({ name: t.name, type: t.dtype, shape: t.shape, byteLength: t.byteLength })),
      });
    case 'pt':
      return pytorchSteps(tensors, options.torch ?? {});
  }
}

async function* hdf5Whole(tensors: readonly LazyTensorInput[], metadata: Readonly<Record<string, string>> | undefined): AsyncGenerator<Uint8Array> {
  const loaded: TensorFileInput[] = [];
  // Copied: a loader may hand out one reused buffer (see LazyTensorInput), and all are kept here.
  for (const t of tensors) loaded.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: new Uint8Array(await t.load()) });
  yield await writeHdf5(loaded, metadata);
}

/**
 * {@link writeTensorDirectory} for lazily loaded tensors: the files in order, model.json first,
 * each shard's bytes produced as it is written (see streamTfjsModel), for writeModelDirectory.
 */
export function streamTensorDirectory(format: 'tfjs', tensors: readonly LazyTensorInput[], metadata?: Readonly<Record<string, string>>): TfjsStreamedFile[] {
  const refused = checkWritable(format, tensors);
  if (refused) throw refused;
  const isOptimizer = (t: LazyTensorInput): boolean => t.name.startsWith('optimizer/');
  return streamTfjsModel(tensors.filter((t) => !isOptimizer(t)), { optimizer: tensors.filter(isOptimizer), ...(metadata ? { metadata } : {}) });
}
