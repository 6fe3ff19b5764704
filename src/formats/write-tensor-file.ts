/**
 * @module Writes a set of tensors as one file in a chosen format, after checking that the format
 * can hold every tensor, so a caller gets one `Unsupported` error naming the first tensor that
 * does not fit instead of a half-written file.
 */
import { EngramError } from '../errors/index.ts';
import type { DType } from '../tensor/index.ts';
import { ggmlTypeByName } from './gguf/ggml-type.ts';
import { writeGguf } from './gguf/write-gguf.ts';
import { writeNpy } from './write-npy.ts';
import { writeNpz } from './write-npz.ts';
import { writeSafetensors } from './write-safetensors.ts';

/** The formats engram can write a set of tensors as. */
export type WritableFormat = 'safetensors' | 'npz' | 'gguf' | 'npy';

/** Every writable format, in the order a suggestion prefers them. */
export const WRITABLE_FORMATS: readonly WritableFormat[] = ['safetensors', 'npz', 'gguf', 'npy'];

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
    });
  }
  const bad = tensors.find((t) => !canHold(format, t.dtype));
  if (!bad) return undefined;
  const suggest = WRITABLE_FORMATS.find((f) => f !== 'npy' && canHold(f, bad.dtype));
  const advice = suggest
    ? `write .${suggest} instead`
    : 'no writable format can hold quantized blocks (their element shape is not kept); keep the original file, which `engram restore` gives back byte for byte';
  return new EngramError('Unsupported', `${format} cannot hold tensor ${JSON.stringify(bad.name)} of dtype ${bad.dtype}; ${advice}`, {
    format, tensor: bad.name, dtype: bad.dtype, ...(suggest ? { suggest } : {}),
  });
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
  }
}
