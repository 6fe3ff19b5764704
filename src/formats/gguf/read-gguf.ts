/**
 * @module Reads a GGUF file (ggml's format for llama.cpp models): header, metadata key/values,
 * tensor infos, then an aligned data section. Every count and length is checked against the file
 * before anything is read or allocated. Dense tensors (F32, F16, BF16, I8…I64, F64) become engram
 * dtypes with their logical shape; quantized ones are opaque bytes (`opaque:Q4_0`, shape = byte
 * count) whose ggml type and logical shape are in `gguf.tensors`. Header and padding are literal,
 * so the file rebuilds byte for byte.
 */
import type { DType } from '../../tensor/index.ts';
import type { ByteSource } from '../byte-source.ts';
import { layoutFile } from '../file-layout.ts';
import { fileTensor } from '../file-tensor.ts';
import type { IngestedFile, IngestedTensor } from '../ingested-file.ts';
import { GgufCursor } from './gguf-cursor.ts';
import { floatValue, GGUF_VALUE_TYPES, type GgufKv, type GgufValue, type GgufValueType, minValueSize } from './gguf-value.ts';
import { ggmlTypeById, ggmlTypeByName } from './ggml-type.ts';

/** The first four bytes of every GGUF file. */
export const GGUF_MAGIC: readonly number[] = [0x47, 0x47, 0x55, 0x46]; // "GGUF"
/** Alignment of the data section and of each tensor when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml tensors have at most 4 dimensions (GGML_MAX_DIMS). */
export const GGUF_MAX_DIMS = 4;
/**
 * How deep arrays of arrays may nest. ggml itself reads none; the spec allows them, and the cap
 * keeps a hostile file from exhausting the stack with recursion.
 */
export const GGUF_MAX_ARRAY_DEPTH = 16;

/** A tensor as the GGUF header describes it. */
export interface GgufTensorInfo {
  readonly name: string;
  /** ggml type name (`F32`, `Q4_K`, …). */
  readonly type: string;
  /** Logical shape, outermost first: ggml's `ne` reversed. */
  readonly shape: readonly number[];
  /** Offset from the start of the data section. */
  readonly offset: number;
  readonly byteLength: number;
}

/** What a GGUF header holds besides the tensors' bytes. */
export interface GgufHeader {
  readonly version: number;
  /** `general.alignment`, or 32. */
  readonly alignment: number;
  /** Offset of the data section in the file. */
  readonly dataOffset: number;
  /** Metadata in file order, each with its value type. */
  readonly metadata: readonly GgufKv[];
  /** Tensor infos in file order. */
  readonly tensors: readonly GgufTensorInfo[];
}

/** The result of reading a GGUF file. */
export interface GgufFile extends IngestedFile {
  readonly gguf: GgufHeader;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const utf8 = new TextDecoder('utf-8', { fatal: true });

async function readString(cur: GgufCursor, what: string): Promise<string> {
  const at = cur.pos;
  const fast = cur.stringBytesSync();
  if (fast) return decodeString(cur, fast, what, at);
  const n = await cur.u64(`length of ${what}`);
  if (n > BigInt(cur.remaining)) cur.fail(`${what} of ${n} bytes runs past the end of the file`, at);
  return decodeString(cur, await cur.bytes(Number(n), what), what, at);
}

function decodeString(cur: GgufCursor, bytes: Uint8Array, what: string, at: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return cur.fail(`${what} is not valid UTF-8`, at + 8);
  }
}

function scalarAt(view: DataView, at: number, type: GgufValueType, fail: (r: string) => never): GgufValue {
  switch (type) {
    case 'UINT8': return view.getUint8(at);
    case 'INT8': return view.getInt8(at);
    case 'UINT16': return view.getUint16(at, true);
    case 'INT16': return view.getInt16(at, true);
    case 'UINT32': return view.getUint32(at, true);
    case 'INT32': return view.getInt32(at, true);
    case 'FLOAT32': return floatValue(view.getFloat32(at, true));
    case 'UINT64': return view.getBigUint64(at, true).toString();
    case 'INT64': return view.getBigInt64(at, true).toString();
    case 'FLOAT64': return floatValue(view.getFloat64(at, true));
    case 'BOOL': {
      const b = view.getUint8(at);
      // Anything but 0 or 1 would not survive a round trip through a boolean.
      if (b > 1) fail(`boolean value ${b} is neither 0 nor 1`);
      return b === 1;
    }
    default: return fail(`${type} is not a fixed-size type`);
  }
}

async function readValueType(cur: GgufCursor, what: string): Promise<GgufValueType> {
  const at = cur.pos;
  const id = await cur.u32(what);
  const type = GGUF_VALUE_TYPES[id];
  if (type === undefined) cur.fail(`${what} ${id} is not a GGUF value type`, at);
  return type;
}

async function readValue(cur: GgufCursor, type: GgufValueType, what: string, depth: number): Promise<GgufValue> {
  if (type === 'STRING') return readString(cur, what);
  if (type !== 'ARRAY') {
    const size = minValueSize(type);
    const at = cur.pos;
    const { view, at: i } = await cur.block(size, what);
    return scalarAt(view, i, type, (r) => cur.fail(`${what}: ${r}`, at));
  }
  const start = cur.pos;
  if (depth >= GGUF_MAX_ARRAY_DEPTH) cur.fail(`${what} nests arrays deeper than ${GGUF_MAX_ARRAY_DEPTH}`, start);
  const itemType = await readValueType(cur, `item type of ${what}`);
  const count = await cur.u64(`length of ${what}`);
  // Each item takes at least minValueSize bytes, so this bounds the allocation by the file size.
  const width = minValueSize(itemType);
  if (count * BigInt(width) > BigInt(cur.remaining)) {
    cur.fail(`${what} of ${count} ${itemType} items runs past the end of the file`, start + 4);
  }
  const n = Number(count);
  const items: GgufValue[] = new Array<GgufValue>(n);
  if (itemType === 'STRING') {
    for (let k = 0; k < n; k++) {
      const at = cur.pos;
      const fast = cur.stringBytesSync();
      items[k] = fast ? decodeString(cur, fast, `${what}[${k}]`, at) : await readString(cur, `${what}[${k}]`);
    }
  } else if (itemType === 'ARRAY') {
    for (let k = 0; k < n; k++) items[k] = await readValue(cur, itemType, `${what}[${k}]`, depth + 1);
  } else {
    const at = cur.pos;
    const { view, at: i } = await cur.block(n * width, what);
    let k = 0;
    const fail = (r: string): never => cur.fail(`${what}[${k}]: ${r}`, at + k * width);
    for (; k < n; k++) items[k] = scalarAt(view, i + k * width, itemType, fail);
  }
  return { itemType, items };
}

/** Metadata for display: scalars as text, arrays summarised (a vocabulary can hold 10^5 strings). */
function displayMetadata(kvs: readonly GgufKv[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of kvs) {
    out[key] = typeof value === 'object' ? `[${value.itemType} × ${value.items.length}]` : String(value);
  }
  return out;
}

interface RawInfo {
  readonly name: string;
  readonly dims: readonly bigint[];
  readonly typeId: number;
  readonly offset: bigint;
  /** Where the tensor info starts, for errors. */
  readonly at: number;
}

/**
 * Reads a GGUF file (versions 2 and 3, little-endian). Like the safetensors reader, and unlike
 * ggml, it accepts holes between tensors and tensors out of offset order (the extra bytes are
 * literal); it refuses overlapping or misaligned tensors, tensors outside the data section,
 * duplicate keys or names, and sizes that do not match type × shape. A ggml type engram does not
 * know, a big-endian file or another version is a FormatError whose reason starts with
 * "unsupported", which `readTensorFile` turns into an opaque file.
 *
 * @example const file = await readGguf(await openFileSource('model.Q4_K_M.gguf'));
 */
export async function readGguf(src: ByteSource): Promise<GgufFile> {
  // Annotated so that TypeScript treats `cur.fail(…)` (returns never) as ending the branch.
  const cur: GgufCursor = new GgufCursor(src);
  const magic = await cur.bytes(4, 'magic');
  if (!GGUF_MAGIC.every((b, i) => magic[i] === b)) cur.fail('file does not start with the GGUF magic', 0);
  const version = await cur.u32('version');
  if (version !== 2 && version !== 3) {
    // A big-endian file reads its version byte-swapped (0x03000000): the low half is zero.
    const reason = version !== 0 && (version & 0xffff) === 0 ? 'unsupported big-endian GGUF file' : `unsupported GGUF version ${version}`;
    cur.fail(reason, 4);
  }
  const tensorCount = await cur.u64('tensor count');
  const kvCount = await cur.u64('metadata count');
  // Smallest kv: empty key (8) + type (4) + a 1-byte value; smallest tensor info: empty name (8) +
  // n_dims (4) + type (4) + offset (8).
  if (kvCount * 13n > BigInt(cur.remaining)) cur.fail(`metadata count ${kvCount} cannot fit in the file`, 16);
  if (tensorCount * 24n > BigInt(cur.remaining)) cur.fail(`tensor count ${tensorCount} cannot fit in the file`, 8);

  const metadata: GgufKv[] = [];
  const keys = new Set<string>();
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  for (let i = 0; i < Number(kvCount); i++) {
    const at = cur.pos;
    const key = await readString(cur, `metadata key #${i}`);
    if (keys.has(key)) cur.fail(`metadata key ${JSON.stringify(key)} is repeated`, at);
    keys.add(key);
    const type = await readValueType(cur, `value type of ${JSON.stringify(key)}`);
    const value = await readValue(cur, type, `value of ${JSON.stringify(key)}`, 0);
    if (key === 'general.alignment') {
      if (type !== 'UINT32') cur.fail(`general.alignment is ${type}, not UINT32`, at);
      const a = value as number;
      if (a === 0 || (a & (a - 1)) !== 0) cur.fail(`general.alignment ${a} is not a power of two`, at);
      alignment = a;
    }
    metadata.push({ key, type, value });
  }

  const raw: RawInfo[] = [];
  for (let i = 0; i < Number(tensorCount); i++) {
    const at = cur.pos;
    const name = await readString(cur, `name of tensor #${i}`);
    const what = `tensor ${JSON.stringify(name)}`;
    const nDims = await cur.u32(`dimension count of ${what}`);
    if (nDims > GGUF_MAX_DIMS) cur.fail(`${what} has ${nDims} dimensions, more than ${GGUF_MAX_DIMS}`, cur.pos - 4);
    const dims: bigint[] = [];
    for (let d = 0; d < nDims; d++) dims.push(await cur.u64(`dimension ${d} of ${what}`));
    const typeId = await cur.u32(`type of ${what}`);
    const offset = await cur.u64(`offset of ${what}`);
    raw.push({ name, dims, typeId, offset, at });
  }
  const dataOffset = Math.ceil(cur.pos / alignment) * alignment;
  const dataSize = Math.max(0, src.size - dataOffset);

  const infos: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (const r of raw) {
    const what = `tensor ${JSON.stringify(r.name)}`;
    if (names.has(r.name)) cur.fail(`${what} is repeated`, r.at);
    names.add(r.name);
    const type = ggmlTypeById(r.typeId);
    if (!type) cur.fail(`unsupported ggml type ${r.typeId} of ${what}`, r.at);
    const ggmlShape = `[${r.dims.join(', ')}]`;
    // ggml quantizes along rows: the innermost dimension (ne[0]) must hold whole blocks.
    const ne0 = r.dims[0] ?? 1n;
    if (ne0 % BigInt(type.blockSize) !== 0n) {
      cur.fail(`${what} is ${type.name} with ne ${ggmlShape}: ne[0] is not a multiple of the ${type.blockSize}-element block`, r.at);
    }
    const elements = r.dims.reduce((a, d) => a * d, 1n);
    // BigInt: four 2^32 dimensions must not wrap around to a plausible size.
    if (r.dims.some((d) => d > MAX_SAFE) || elements > MAX_SAFE) cur.fail(`${what} has ne ${ggmlShape}, too many elements`, r.at);
    const bytes = (elements / BigInt(type.blockSize)) * BigInt(type.typeSize);
    if (r.offset % BigInt(alignment) !== 0n) cur.fail(`${what} has offset ${r.offset}, not a multiple of the alignment ${alignment}`, r.at);
    if (r.offset + bytes > BigInt(dataSize)) {
      cur.fail(`${what} of ${bytes} bytes at data offset ${r.offset} runs past the ${dataSize}-byte data section`, r.at);
    }
    infos.push({
      name: r.name, type: type.name, shape: Object.freeze(r.dims.map(Number).reverse()), offset: Number(r.offset), byteLength: Number(bytes),
    });
  }

  const byOffset = [...infos].filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!;
    const t = byOffset[i]!;
    if (t.offset < prev.offset + prev.byteLength) {
      cur.fail(`tensors ${JSON.stringify(prev.name)} and ${JSON.stringify(t.name)} overlap`, dataOffset + t.offset);
    }
  }

  const tensors: IngestedTensor[] = infos.map((t) => {
    const dtype: DType = ggmlTypeByName(t.type)?.dtype ?? `opaque:${t.type}`;
    return fileTensor(src, {
      name: t.name, dtype, shape: dtype.startsWith('opaque:') ? [t.byteLength] : t.shape, byteLength: t.byteLength, offset: dataOffset + t.offset,
    });
  });
  const layout = await layoutFile(src, infos.map((t) => ({ start: dataOffset + t.offset, length: t.byteLength, tensor: t.name })));
  return {
    format: 'gguf', size: src.size, tensors, ...layout,
    metadata: displayMetadata(metadata),
    gguf: { version, alignment, dataOffset, metadata, tensors: infos },
  };
}
