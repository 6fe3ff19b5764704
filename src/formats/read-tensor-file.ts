/** @module Reads any file: picks the format by asking the registered detectors in precedence order. */
import { isEngramError, type EngramError } from '../errors/index.ts';
import type { ByteSource } from './byte-source.ts';
import { detectFile, type ReadTensorFileOptions } from './format-registry.ts';
import type { IngestedFile, WithheldTensor } from './ingested-file.ts';
import { readOpaque } from './read-opaque.ts';

export type { ReadTensorFileOptions } from './format-registry.ts';

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

/**
 * Reads a file in whichever registered format it is (format-registry.ts; in the detectors' order:
 * .npy, .npz, GGUF, HDF5 by magic, PyTorch by content, .safetensors, .onnx and TF.js model.json by
 * name, then ONNX external data and TF.js shards by content), anything else opaque. A file that is
 * valid but holds what engram cannot represent (an .npy of objects, strings, structs or complex
 * numbers, an unknown .npy version, encrypted or non-deflate zip members) is kept opaque; any
 * other malformation is a `FormatError`.
 *
 * @example
 * const src = await openFileSource('model.safetensors');
 * try { const file = await readTensorFile(src); } finally { await src.close(); }
 */
export async function readTensorFile(src: ByteSource, options: ReadTensorFileOptions = {}): Promise<IngestedFile> {
  const found = await detectFile(src);
  if (found === undefined || found.read === 'opaque') return readOpaque(src);
  const read = found.read;
  return found.detector.opaqueWhenUnsupported ? orOpaque(src, (s) => read(s, options)) : read(src, options);
}
