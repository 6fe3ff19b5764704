/** @module Writes the tensors of an export or a conversion to their output, atomically. */
import {
  isDirectoryFormat, streamTensorDirectory, streamTensorFile, writeModelDirectory,
  type LazyTensorInput, type WritableFormat, type WritePytorchOptions,
} from '../formats/index.ts';
import { writeFileAtomic } from '../repo/index.ts';

/**
 * Writes `tensors` to `out` as `format` and returns the bytes written: a directory for TF.js
 * (model.json and its shards appear together or not at all), any other format as one file
 * (`torch` shapes a .pt's pickled object; `metadata` goes where the format keeps it). Each tensor
 * is loaded when the writer reaches it and written before the next is loaded, so memory holds one
 * tensor, not the output (h5 excepted: h5wasm builds its file whole).
 */
export async function writeTensorOutput(
  out: string, format: WritableFormat, tensors: readonly LazyTensorInput[],
  options: { readonly metadata?: Readonly<Record<string, string>>; readonly torch?: WritePytorchOptions } = {},
): Promise<number> {
  if (isDirectoryFormat(format)) return writeModelDirectory(out, streamTensorDirectory(format, tensors, options.metadata));
  return writeFileAtomic(out, streamTensorFile(format, tensors, options));
}
