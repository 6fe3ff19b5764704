/**
 * @module Reads one tensor out of the exact bytes of a file: how a repository gets the values of a
 * tensor it holds only inside a compressed file (a deflated `.npz` member, a gzip-chunked HDF5
 * dataset), which it stores once, as the file, instead of once more as decoded values.
 */
import { EngramError } from '../errors/index.ts';
import { bufferSource } from './byte-source.ts';
import { HDF5_MAGIC, readHdf5 } from './hdf5/index.ts';
import type { IngestedFile } from './ingested-file.ts';
import { readTensorFile } from './read-tensor-file.ts';

// The file read last: the other tensors of a file being exported come from the same bytes.
let last: { bytes: Uint8Array; file: Promise<IngestedFile> } | undefined;

/**
 * Reads a file that its reader already accepted at save. An HDF5 file gets a generous time limit:
 * the default one (sized for untrusted input, where the library may loop) would turn a busy
 * machine into a missing tensor; this file is known to parse, and its errors are kept, not made opaque.
 */
function readAgain(path: string, bytes: Uint8Array): Promise<IngestedFile> {
  const src = bufferSource(path, bytes);
  if (HDF5_MAGIC.every((b, i) => bytes[i] === b)) return readHdf5(src);
  return readTensorFile(src);
}

/**
 * The canonical bytes of tensor `tensor` (its name within the file) of the file whose exact bytes
 * are given; `NotFound` if the file has no such tensor, with the reason when the reader withheld it.
 * Fits `Repository.open(url, { fileTensors: decodeFileTensor })`.
 *
 * @example const repo = await Repository.open('./repo', { fileTensors: decodeFileTensor });
 */
export async function decodeFileTensor(file: { readonly path: string; readonly bytes: Uint8Array }, tensor: string): Promise<Uint8Array> {
  if (last?.bytes !== file.bytes) last = { bytes: file.bytes, file: readAgain(file.path, file.bytes) };
  const ingested = await last.file;
  const t = ingested.tensors.find((x) => x.name === tensor);
  if (t) return t.load();
  const why = ingested.withheld?.find((w) => w.name === tensor)?.reason ?? ingested.opaqueReason;
  throw new EngramError('NotFound', `file ${file.path} has no tensor ${JSON.stringify(tensor)}${why ? `: ${why}` : ''}`, { path: file.path, tensor });
}
