/** @module The `--format` value of export and convert, and the format an output file name implies. */
import { extname } from 'node:path';
import { EngramError } from '../errors/index.ts';
import type { WritableFormat } from '../formats/index.ts';

const WRITABLE: readonly WritableFormat[] = ['safetensors', 'npz', 'gguf', 'npy', 'tfjs', 'pt', 'h5'];
// Formats engram reads but cannot write yet: named so the error says "not yet", not "unknown".
const READ_ONLY = ['ckpt', 'onnx'];
// Other names of a writable format.
const ALIASES: Readonly<Record<string, WritableFormat>> = { pth: 'pt', pytorch: 'pt', hdf5: 'h5' };

/** Parses a format name; `Unsupported` for known read-only formats, `InvalidArgument` otherwise. */
export function parseWritableFormat(name: string): WritableFormat {
  const f = name.toLowerCase().replace(/^\./, '');
  if ((WRITABLE as readonly string[]).includes(f)) return f as WritableFormat;
  if (Object.hasOwn(ALIASES, f)) return ALIASES[f]!;
  if (READ_ONLY.includes(f)) {
    throw new EngramError('Unsupported', `engram cannot write ${f} files yet; write safetensors, npz or gguf instead`, { format: f, suggest: 'safetensors' }, {
      hint: f === 'onnx' ? 'ONNX is written into an existing model: give --template MODEL.onnx.' : 'Write --format safetensors, npz or gguf instead.',
    });
  }
  throw new EngramError('InvalidArgument', `unknown format ${JSON.stringify(name)}: use safetensors, npz, gguf, npy, tfjs, pt or h5`, { format: name });
}

/** The format `path`'s extension names (`.safetensors` → safetensors). */
export function formatOfPath(path: string): WritableFormat {
  const ext = extname(path);
  if (!ext) throw new EngramError('InvalidArgument', `cannot tell the format of ${path}: give --format or a .safetensors, .npz, .gguf or .npy name`, { path });
  return parseWritableFormat(ext);
}

/** True for the ONNX format name, which is written into a template rather than from scratch. */
export function isOnnxFormat(name: string): boolean {
  return name.toLowerCase().replace(/^\./, '') === 'onnx';
}
