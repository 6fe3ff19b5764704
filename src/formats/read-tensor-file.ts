/** @module Reads any file: picks the format from its magic bytes and name. */
import { isEngramError, type EngramError } from '../errors/index.ts';
import type { ByteSource } from './byte-source.ts';
import { GGUF_MAGIC, readGguf } from './gguf/read-gguf.ts';
import { HDF5_MAGIC } from './hdf5/hdf5-superblock.ts';
import { readHdf5, type ReadHdf5Options } from './hdf5/read-hdf5.ts';
import type { IngestedFile, WithheldTensor } from './ingested-file.ts';
import { NPY_MAGIC } from './numpy/npy-header.ts';
import { readNpy } from './numpy/read-npy.ts';
import { readNpz } from './numpy/read-npz.ts';
import { readOnnx } from './onnx/read-onnx.ts';
import { readOnnxExternalData } from './onnx/read-onnx-external-data.ts';
import { readOpaque } from './read-opaque.ts';
import { detectPytorch, readPytorch } from './pytorch/read-pytorch.ts';
import { readSafetensors } from './safetensors/read-safetensors.ts';
import { readModelJson, readTfjsModel } from './tfjs/read-tfjs-model.ts';
import { readTfjsShard } from './tfjs/read-tfjs-shard.ts';

/** True for a FormatError that means "valid, but not something engram holds as tensors". */
function isUnsupported(e: unknown): boolean {
  return isEngramError(e, 'FormatError') && typeof e.data.reason === 'string' && e.data.reason.startsWith('unsupported');
}

/** The `withheld` list an "unsupported" error carries (an HDF5 dataset behind an unknown filter). */
function withheldOf(e: EngramError): WithheldTensor[] {
  const list = e.data.withheld;
  if (!Array.isArray(list)) return [];
  return list.filter((w): w is WithheldTensor => typeof w?.name === 'string' && typeof w?.reason === 'string');
}

/**
 * Reads with `reader`, falling back to opaque bytes when the file holds what engram lacks; the
 * tensors the reader could not decode stay named, with why, so asking for one can say so.
 */
async function orOpaque(src: ByteSource, reader: (s: ByteSource) => Promise<IngestedFile>): Promise<IngestedFile> {
  try {
    return await reader(src);
  } catch (e) {
    if (!isUnsupported(e)) throw e;
    const opaque = { ...(await readOpaque(src)), opaqueReason: String((e as EngramError).data.reason) };
    const withheld = withheldOf(e as EngramError);
    return withheld.length > 0 ? { ...opaque, withheld } : opaque;
  }
}

/** Options of {@link readTensorFile}, passed on to the reader of the detected format. */
export interface ReadTensorFileOptions {
  /** For HDF5 files (e.g. a short `timeoutMs` where giving up is acceptable, as in a fuzz run). */
  readonly hdf5?: ReadHdf5Options;
}

/**
 * Reads a file in whichever format it is: .npy and GGUF by magic, .npz by zip magic and name, .safetensors
 * by name, anything else opaque. An .npy or .npz that is valid but holds what engram cannot
 * represent (object, string, struct or complex arrays; an unknown .npy version; encrypted or
 * non-deflate zip members) is kept opaque; any other malformation is a `FormatError`.
 *
 * @example
 * const src = await openFileSource('model.safetensors');
 * try { const file = await readTensorFile(src); } finally { await src.close(); }
 */
export async function readTensorFile(src: ByteSource, options: ReadTensorFileOptions = {}): Promise<IngestedFile> {
  const head = await src.read(0, Math.min(8, src.size));
  const lower = src.name.toLowerCase();
  if (NPY_MAGIC.every((b, i) => head[i] === b)) return orOpaque(src, readNpy);
  const zip = head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
  if (zip && lower.endsWith('.npz')) return orOpaque(src, readNpz);
  if (GGUF_MAGIC.every((b, i) => head[i] === b)) return orOpaque(src, readGguf);
  // HDF5 (Keras .h5 and others) by its signature at offset 0; too large or too expanding: opaque.
  if (HDF5_MAGIC.every((b, i) => head[i] === b)) return orOpaque(src, (s) => readHdf5(s, options.hdf5));
  // PyTorch by content, whatever the extension (.pt, .pth, .bin, .ckpt): a zip with data.pkl or the legacy magic.
  if ((await detectPytorch(src)) !== undefined) return orOpaque(src, readPytorch);
  if (lower.endsWith('.safetensors')) return readSafetensors(src);
  if (lower.endsWith('.onnx')) return orOpaque(src, (s) => readOnnx(s));
  // A TF.js model.json or bare weights manifest: any other JSON (configs, tokenizers) is kept opaque.
  if (lower.endsWith('.json')) {
    const model = await readModelJson(src);
    return model ? orOpaque(src, (s) => readTfjsModel(s, { model })) : readOpaque(src);
  }
  // An ONNX external data file or a TF.js weight shard: its tensors, as a sibling model on disk
  // places them, so they deduplicate.
  return (await readOnnxExternalData(src)) ?? (await readTfjsShard(src)) ?? readOpaque(src);
}
