/** @module Writes the tensors of `engram export` and `engram convert` to their output, atomically. */
import {
  isDirectoryFormat, pytorchFilePieces, writeModelDirectory, writeTensorDirectory, writeTensorFileAsync,
  type TensorFileInput, type WritableFormat, type WritePytorchOptions,
} from '../formats/index.ts';
import { writeFileAtomic } from '../repo/index.ts';

/**
 * Writes `tensors` to `out` as `format` and returns the bytes written: a directory for TF.js
 * (model.json and its shards appear together or not at all), a .pt from its pieces (the tensors'
 * own bytes, not a concatenated copy; `torch` shapes the pickled object), any other format as one
 * file with `metadata` where the format keeps it.
 */
export async function writeTensorOutput(
  out: string, format: WritableFormat, tensors: readonly TensorFileInput[],
  options: { readonly metadata?: Readonly<Record<string, string>>; readonly torch?: WritePytorchOptions } = {},
): Promise<number> {
  if (isDirectoryFormat(format)) return writeModelDirectory(out, writeTensorDirectory(format, tensors));
  const pieces = format === 'pt' ? pytorchFilePieces(tensors, options.torch ?? {}) : [await writeTensorFileAsync(format, tensors, options.metadata)];
  return writeFileAtomic(out, pieces);
}
