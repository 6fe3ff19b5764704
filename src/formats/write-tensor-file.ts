/**
 * @module Writes a set of tensors as one file (or directory) in a chosen format, through the
 * format's registered writer, after checking that the format can hold every tensor, so a caller
 * gets one `Unsupported` error naming the first tensor that does not fit instead of a half-written
 * file.
 */
import { EngramError } from '../errors/index.ts';
import type { DType, LazyNamedTensor, NamedTensor } from '../tensor/index.ts';
import { tensorFormats, writerOf, type StreamTensorFileOptions } from './format-registry.ts';
import type { DirectoryFile, StreamedDirectoryFile, WritableFormat } from './tensor-format.ts';
import { streamSteps } from './write-steps.ts';

export type { StreamTensorFileOptions } from './format-registry.ts';
export type { WritableFormat } from './tensor-format.ts';

/** Every writable format, in the order a suggestion prefers them (the registry's order). */
export const WRITABLE_FORMATS: readonly WritableFormat[] = tensorFormats().flatMap((f) => (f.writer ? [f.writer.name] : []));

/**
 * One tensor to write: its name in the file, dtype, logical shape and little-endian C-order bytes.
 * @deprecated use NamedTensor (tensor/)
 */
export type TensorFileInput = NamedTensor;

/** True when `format` can store a tensor of `dtype` without losing its type or shape. */
export function canHold(format: WritableFormat, dtype: DType): boolean {
  // Opaque quantized blocks are stored with shape = byte count: their logical (element) shape is
  // gone, so no format can be told what they are — not even GGUF, whose tensor infos count elements.
  if (dtype.startsWith('opaque:')) return false;
  return writerOf(format).canHold(dtype);
}

/**
 * The first tensor `format` cannot hold, as an `Unsupported` error naming it and a format that
 * can; undefined when every tensor fits.
 */
export function checkWritable(format: WritableFormat, tensors: readonly Pick<NamedTensor, 'name' | 'dtype'>[]): EngramError | undefined {
  const whole = writerOf(format).refuseSet?.(tensors);
  if (whole) return whole;
  const bad = tensors.find((t) => !canHold(format, t.dtype));
  if (!bad) return undefined;
  // Only a format that takes the set as a whole is advice (not .npy for many tensors).
  const suggest = WRITABLE_FORMATS.find((f) => writerOf(f).refuseSet?.(tensors) === undefined && canHold(f, bad.dtype));
  const advice = suggest
    ? `write .${suggest} instead`
    : 'no writable format can hold quantized blocks (their element shape is not kept); keep the original file, which `engram restore` gives back byte for byte';
  return new EngramError('Unsupported', `${format} cannot hold tensor ${JSON.stringify(bad.name)} of dtype ${bad.dtype}; ${advice}`, {
    format, tensor: bad.name, dtype: bad.dtype, ...(suggest ? { suggest } : {}),
  }, { hint: suggest ? `Write --format ${suggest} (or a .${suggest} file), which holds ${bad.dtype}.` : 'Keep the original file: `engram restore` gives it back byte for byte.' });
}

/** The writer of `format`, after {@link checkWritable} accepted `tensors`. */
function checkedWriter(format: WritableFormat, tensors: readonly Pick<NamedTensor, 'name' | 'dtype'>[]): ReturnType<typeof writerOf> {
  const refused = checkWritable(format, tensors);
  if (refused) throw refused;
  return writerOf(format);
}

/** The refusal of a one-file synchronous write for a format written otherwise. */
function notOneFile(format: WritableFormat, output: ReturnType<typeof writerOf>['output']): EngramError {
  return output.kind === 'directory'
    ? new EngramError('InvalidArgument', `${format} is written as a directory (${output.holds}): use writeTensorDirectory`, { format })
    : new EngramError('InvalidArgument', `${format} is written by ${output.kind === 'whole' ? output.builtBy : 'its writer'}: use writeTensorFileAsync`, { format });
}

/**
 * The bytes of `tensors` as one file of `format`. Throws `Unsupported` (naming the first tensor
 * that does not fit) before writing anything. `metadata` goes to safetensors `__metadata__` or
 * GGUF string key/values; npz and npy have nowhere to put it.
 *
 * @example writeTensorFile('npz', [{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(8) }])
 */
export function writeTensorFile(format: WritableFormat, tensors: readonly NamedTensor[], metadata?: Readonly<Record<string, string>>): Uint8Array {
  const { output } = checkedWriter(format, tensors);
  if (output.kind !== 'file') throw notOneFile(format, output);
  return output.write(tensors, { metadata });
}

/**
 * {@link writeTensorFile} for every single-file format, including h5, which h5wasm writes in a
 * worker thread. `metadata` becomes HDF5 string attributes (see writeHdf5).
 *
 * @example const bytes = await writeTensorFileAsync('h5', tensors);
 */
export async function writeTensorFileAsync(format: WritableFormat, tensors: readonly NamedTensor[], metadata?: Readonly<Record<string, string>>): Promise<Uint8Array> {
  const { output } = writerOf(format);
  if (output.kind !== 'whole') return writeTensorFile(format, tensors, metadata);
  checkedWriter(format, tensors);
  return output.write(tensors, { metadata });
}

/** True for a format written as a directory of files (TF.js: model.json and its weight shards) rather than one file. */
export function isDirectoryFormat(format: WritableFormat): format is 'tfjs' {
  return writerOf(format).output.kind === 'directory';
}

/**
 * The files of `tensors` as a directory format, `model.json` first. Tensors named `optimizer/…`
 * go into TF.js's optimizer group (as `includeOptimizer` writes it); `metadata` becomes
 * `userDefinedMetadata`. Throws `Unsupported` (naming the first tensor that does not fit) first.
 *
 * @example await writeModelDirectory('web_model', writeTensorDirectory('tfjs', tensors));
 */
export function writeTensorDirectory(format: 'tfjs', tensors: readonly NamedTensor[], metadata?: Readonly<Record<string, string>>): DirectoryFile[] {
  const { output } = checkedWriter(format, tensors);
  if (output.kind !== 'directory') throw new EngramError('InvalidArgument', `${format} is written as one file: use writeTensorFile`, { format });
  return output.write(tensors, { metadata });
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
export function streamTensorFile(format: Exclude<WritableFormat, 'tfjs'>, tensors: readonly LazyNamedTensor[], options: StreamTensorFileOptions = {}): AsyncGenerator<Uint8Array> {
  const { output } = checkedWriter(format, tensors);
  if (output.kind === 'directory') throw notOneFile(format, output);
  if (output.kind === 'whole') return loadedWhole(tensors, (loaded) => output.write(loaded, options));
  return streamSteps(output.steps(tensors, options), tensors);
}

/** Every tensor loaded (copied), then the file built whole by `write`, yielded as one piece. */
async function* loadedWhole(tensors: readonly LazyNamedTensor[], write: (loaded: NamedTensor[]) => Promise<Uint8Array>): AsyncGenerator<Uint8Array> {
  const loaded: NamedTensor[] = [];
  // Copied: a loader may hand out one reused buffer (see LazyNamedTensor), and all are kept here.
  for (const t of tensors) loaded.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: new Uint8Array(await t.load()) });
  yield await write(loaded);
}

/**
 * {@link writeTensorDirectory} for lazily loaded tensors: the files in order, model.json first,
 * each shard's bytes produced as it is written (see streamTfjsModel), for writeModelDirectory.
 */
export function streamTensorDirectory(format: 'tfjs', tensors: readonly LazyNamedTensor[], metadata?: Readonly<Record<string, string>>): StreamedDirectoryFile[] {
  const { output } = checkedWriter(format, tensors);
  if (output.kind !== 'directory') throw new EngramError('InvalidArgument', `${format} is written as one file: use streamTensorFile`, { format });
  return output.stream(tensors, { metadata });
}
