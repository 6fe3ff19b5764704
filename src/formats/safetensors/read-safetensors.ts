/**
 * @module Reads a .safetensors file: an 8-byte little-endian header length, a JSON header, then
 * the tensors' bytes. Every field is checked against the file before anything is read or
 * allocated; the header (padding included) is literal and each tensor is referenced in place.
 */
import { formatError } from '../../errors/index.ts';
import { DENSE_DTYPES, type DenseDType, dtypeSize } from '../../tensor/index.ts';
import type { ByteSource } from '../byte-source.ts';
import { fileTensor } from '../file-tensor.ts';
import { layoutFile } from '../file-layout.ts';
import type { IngestedFile, IngestedTensor } from '../ingested-file.ts';

/** The largest header the reference implementation accepts (safetensors MAX_HEADER_SIZE). */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

interface Entry {
  readonly name: string;
  readonly dtype: DenseDType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Reads a .safetensors file. Unlike the reference reader it accepts holes between tensors and
 * bytes after the last one (they are kept as literal, so the file still rebuilds exactly); it
 * refuses overlapping tensors, offsets outside the data area and shapes that do not match the
 * byte ranges. Tensors are listed in file order.
 *
 * @example const file = await readSafetensors(await openFileSource('model.safetensors'));
 */
export async function readSafetensors(src: ByteSource): Promise<IngestedFile> {
  const file = src.name;
  if (src.size < 8) throw formatError(file, 0, `file of ${src.size} bytes is shorter than the 8-byte header length`);
  const lenBytes = await src.read(0, 8);
  const n = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_SAFETENSORS_HEADER)) throw formatError(file, 0, `header length ${n} exceeds the ${MAX_SAFETENSORS_HEADER}-byte limit`);
  if (n > BigInt(src.size - 8)) throw formatError(file, 0, `header length ${n} runs past the end of the ${src.size}-byte file`);
  const headerLength = Number(n);
  const dataStart = 8 + headerLength;
  const dataSize = src.size - dataStart;

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await src.read(8, headerLength));
  } catch (e) {
    throw formatError(file, 8, 'header is not valid UTF-8', e);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw formatError(file, 8, 'header is not valid JSON', e);
  }
  if (!isPlainObject(header)) throw formatError(file, 8, 'header is not a JSON object');

  let metadata: Record<string, string> | undefined;
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      // The reference reader deserialises an Option, so null means "no metadata".
      if (value === null) continue;
      if (!isPlainObject(value) || !Object.values(value).every((x) => typeof x === 'string')) {
        throw formatError(file, 8, '__metadata__ is not an object of strings');
      }
      metadata = Object.fromEntries(Object.entries(value)) as Record<string, string>;
      continue;
    }
    const what = `tensor ${JSON.stringify(name)}`;
    if (!isPlainObject(value)) throw formatError(file, 8, `${what} is not an object`);
    const { dtype, shape, data_offsets: offsets } = value;
    if (typeof dtype !== 'string' || !(DENSE_DTYPES as readonly string[]).includes(dtype)) {
      throw formatError(file, 8, `${what} has unknown dtype ${JSON.stringify(dtype)}`);
    }
    if (!Array.isArray(shape) || !shape.every((d): d is number => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw formatError(file, 8, `${what} has a shape that is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o): o is number => Number.isSafeInteger(o))) {
      throw formatError(file, 8, `${what} has data_offsets that are not two integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin < 0 || begin > end || end > dataSize) {
      throw formatError(file, dataStart, `${what} has data_offsets [${begin}, ${end}] outside the ${dataSize}-byte data area`);
    }
    // BigInt: a shape like [2^40, 2^40] must not wrap around to a plausible length.
    const want = shape.reduce((acc: bigint, d: number) => acc * BigInt(d), 1n) * BigInt(dtypeSize(dtype as DenseDType));
    if (want !== BigInt(end - begin)) {
      throw formatError(file, dataStart + begin, `${what} is ${dtype}[${shape.join(', ')}] = ${want} bytes but data_offsets span ${end - begin}`);
    }
    entries.push({ name, dtype: dtype as DenseDType, shape: Object.freeze([...shape]), begin, end });
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev: Entry | undefined;
  for (const e of entries) {
    if (e.begin === e.end) continue;
    if (prev && e.begin < prev.end) {
      throw formatError(file, dataStart + e.begin, `tensors ${JSON.stringify(prev.name)} and ${JSON.stringify(e.name)} overlap`);
    }
    prev = e;
  }

  const tensors: IngestedTensor[] = entries.map((e) =>
    fileTensor(src, { name: e.name, dtype: e.dtype, shape: e.shape, byteLength: e.end - e.begin, offset: dataStart + e.begin }));
  const layout = await layoutFile(src, entries.map((e) => ({ start: dataStart + e.begin, length: e.end - e.begin, tensor: e.name })));
  return { format: 'safetensors', size: src.size, tensors, ...layout, ...(metadata ? { metadata } : {}) };
}
