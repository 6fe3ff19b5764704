/**
 * @module The .npy header: magic, version, and the Python dict that gives dtype, order and shape.
 * Shared by the .npy reader and the .npz reader (each .npz member is an .npy).
 */
import { formatError } from '../../errors/index.ts';
import type { DType, SegmentEncoding, Shape } from '../../tensor/index.ts';
import { dtypeSize } from '../../tensor/index.ts';
import { parseNpyDescr } from './npy-dtype.ts';
import { parsePythonLiteral, PyLiteralError, type PyValue } from '../python-literal.ts';

/** What an .npy header says, checked against the bytes available after it. */
export interface NpyHeader {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly fortranOrder: boolean;
  readonly bigEndian: boolean;
  /** Offset of the array data from the start of the .npy (magic + length field + header text). */
  readonly dataOffset: number;
  /** Byte length of the array data. */
  readonly byteLength: number;
  /** How the stored bytes differ from canonical little-endian C order; undefined when they don't. */
  readonly encoding: SegmentEncoding | undefined;
}

/** Reads `length` bytes at `offset` from the start of an .npy, wherever it lives. */
export type NpyByteReader = (offset: number, length: number) => Promise<Uint8Array>;

/** The .npy magic string, `\x93NUMPY`. */
export const NPY_MAGIC: readonly number[] = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

// numpy refuses headers over 10 000 bytes unless told otherwise; anything near this bound is a
// structured dtype we would keep opaque anyway, and the bound keeps the header a small string.
const MAX_HEADER_BYTES = 1 << 20;

/**
 * Reads and validates the header of an .npy of `available` bytes. Offsets in errors are `base`
 * plus the offset within the .npy, so they point into the enclosing file. A dtype engram cannot
 * hold is a FormatError whose reason starts with 'unsupported', so callers can keep the file opaque.
 */
export async function readNpyHeader(read: NpyByteReader, file: string, base: number, available: number): Promise<NpyHeader> {
  const fail = (at: number, reason: string): never => {
    throw formatError(file, base + at, reason);
  };
  if (available < 10) fail(0, `${available} bytes are too few for an .npy header`);
  const head = await read(0, Math.min(12, available));
  if (!NPY_MAGIC.every((b, i) => head[i] === b)) fail(0, 'not an .npy file (bad magic)');
  const major = head[6]!;
  const minor = head[7]!;
  if (!(major >= 1 && major <= 3 && minor === 0)) fail(6, `unsupported .npy format version ${major}.${minor}`);
  const lengthWidth = major === 1 ? 2 : 4;
  const prefix = 8 + lengthWidth;
  if (available < prefix) fail(8, 'file ends inside the header length field');
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (prefix + headerLength > available) {
    fail(8, `header length ${headerLength} runs past the end of the ${available}-byte file`);
  }
  if (headerLength > MAX_HEADER_BYTES) fail(8, `unsupported header length ${headerLength} (over ${MAX_HEADER_BYTES} bytes)`);
  const raw = await read(prefix, headerLength);
  // Versions 1 and 2 store the header in latin-1, version 3 in UTF-8 (numpy format.py).
  let text: string;
  if (major === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch (e) {
      throw formatError(file, base + prefix, 'header is not valid UTF-8', e);
    }
  } else {
    text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
  }
  let dict: PyValue;
  try {
    dict = parsePythonLiteral(text);
  } catch (e) {
    if (!(e instanceof PyLiteralError)) throw e;
    throw formatError(file, base + prefix + e.position, `header is not a valid Python literal: ${e.message}`, e);
  }
  if (dict.kind !== 'dict') return fail(prefix, 'header is not a dict');
  const keys = [...dict.entries.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape') fail(prefix, `header keys are [${keys.join(', ')}], expected descr, fortran_order, shape`);

  const descr = dict.entries.get('descr')!;
  if (descr.kind !== 'str') return fail(prefix, 'unsupported dtype: a structured (record) array');
  const type = parseNpyDescr(descr.value);
  if (!type) return fail(prefix, `unsupported dtype '${descr.value}'`);

  const fortran = dict.entries.get('fortran_order')!;
  if (fortran.kind !== 'bool') return fail(prefix, 'fortran_order is not True or False');

  const shapeValue = dict.entries.get('shape')!;
  if (shapeValue.kind !== 'tuple') return fail(prefix, 'shape is not a tuple');
  const shape: number[] = [];
  let count = 1n;
  for (const d of shapeValue.items) {
    if (d.kind !== 'int' || d.value < 0n || d.value > BigInt(Number.MAX_SAFE_INTEGER)) {
      return fail(prefix, 'shape holds something other than a non-negative integer');
    }
    shape.push(Number(d.value));
    count *= d.value;
  }

  const dataOffset = prefix + headerLength;
  const byteLength = count * BigInt(dtypeSize(type.dtype));
  const remaining = available - dataOffset;
  if (byteLength > BigInt(remaining)) {
    fail(dataOffset, `data is truncated: the ${type.dtype}[${shape.join(', ')}] array needs ${byteLength} bytes but ${remaining} follow the header`);
  }
  const order = fortran.value && shape.length > 1 ? 'F' : undefined;
  const encoding: SegmentEncoding | undefined = order || type.bigEndian
    ? { ...(order ? { order } : {}), ...(type.bigEndian ? { byteOrder: 'big' as const } : {}) }
    : undefined;
  return {
    dtype: type.dtype, shape: Object.freeze(shape), fortranOrder: fortran.value, bigEndian: type.bigEndian,
    dataOffset, byteLength: Number(byteLength), encoding,
  };
}
