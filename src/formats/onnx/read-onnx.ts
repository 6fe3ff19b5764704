/**
 * @module Reads an ONNX model's initializers (ModelProto.graph = 7 → GraphProto.initializer = 5 →
 * TensorProto) with a bounded protobuf walk that skips everything else by length. A tensor stored as
 * raw_data is a segment of the file (so it deduplicates with the same weights in other formats);
 * typed fields (float_data, int32_data, …) are decoded into canonical bytes and stay inside the
 * literal bytes; external data is read from the file it names, relative to the model's directory,
 * while the .onnx stays as it is. Everything that is not a raw_data payload is literal, so the file
 * rebuilds byte for byte.
 */
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { formatError, isEngramError } from '../../errors/index.ts';
import { dtypeSize, type DenseDType } from '../../tensor/index.ts';
import { openFileSource, type ByteSource } from '../byte-source.ts';
import { layoutFile, type TensorRange } from '../file-layout.ts';
import { checkLoadable, fileTensor } from '../file-tensor.ts';
import type { IngestedFile, IngestedTensor } from '../ingested-file.ts';
import { onnxDataType, type OnnxTypedField } from './onnx-data-type.ts';
import { decodeTypedData, encodeVarint, TypedDataError, type TypedChunk } from './onnx-typed-data.ts';
import { ProtobufReader } from './protobuf-reader.ts';

/** How `readOnnx` reaches external data files. */
export interface ReadOnnxOptions {
  /**
   * Opens an external data file by its `location` (already checked to be a relative path inside the
   * model's directory). Defaults to opening it beside `src.name`. Should throw `NotFound` when absent.
   */
  readonly openExternal?: (location: string) => Promise<ByteSource>;
}

/** An initializer whose bytes live in another file, as its TensorProto names them. */
export interface OnnxExternalRef {
  readonly name: string;
  readonly dtype: DenseDType;
  readonly shape: readonly number[];
  /** Relative to the model's directory, normalised. */
  readonly location: string;
  readonly offset: number;
  readonly byteLength: number;
}

/** The result of reading an ONNX model. */
export interface OnnxFile extends IngestedFile {
  /** Initializers stored as external data, in file order. */
  readonly external: readonly OnnxExternalRef[];
}

/** Where one initializer's data is, as the TensorProto describes it. */
interface TensorProtoInfo {
  name: string;
  dims: number[];
  dataType: number;
  raw?: { start: number; length: number };
  typed: Map<OnnxTypedField | 'string_data', TypedChunk[]>;
  external: Map<string, string>;
  dataLocation: number;
  at: number;
}

const TYPED_FIELDS: Readonly<Record<number, OnnxTypedField | 'string_data'>> = {
  4: 'float_data', 5: 'int32_data', 6: 'string_data', 7: 'int64_data', 10: 'double_data', 11: 'uint64_data',
};
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const utf8 = new TextDecoder('utf-8', { fatal: true });

function unsupported(src: ByteSource, at: number, reason: string): never {
  throw formatError(src.name, at, `unsupported ${reason}`);
}

async function readString(cur: ProtobufReader, what: string): Promise<string> {
  const { start, length } = await cur.span(what);
  const bytes = await cur.bytes(length, what);
  try {
    return utf8.decode(bytes);
  } catch {
    return cur.fail(`${what} is not valid UTF-8`, start);
  }
}

async function readEntry(cur: ProtobufReader, into: Map<string, string>): Promise<void> {
  let key = '';
  let value = '';
  while (cur.more) {
    const t = await cur.tag();
    if (t.field === 1 && t.wire === 2) key = await readString(cur, 'external_data key');
    else if (t.field === 2 && t.wire === 2) value = await readString(cur, 'external_data value');
    else await cur.skip(t.wire, `field ${t.field} of external_data`);
  }
  into.set(key, value);
}

async function readTensorProto(cur: ProtobufReader, at: number): Promise<TensorProtoInfo> {
  const info: TensorProtoInfo = { name: '', dims: [], dataType: 0, typed: new Map(), external: new Map(), dataLocation: 0, at };
  const dim = async (): Promise<void> => {
    const p = cur.pos;
    const v = BigInt.asIntN(64, await cur.varint('dimension'));
    if (v < 0n || v > MAX_SAFE) cur.fail(`dimension ${v} is negative or too large`, p);
    info.dims.push(Number(v));
  };
  while (cur.more) {
    const t = await cur.tag();
    const typed = TYPED_FIELDS[t.field];
    if (t.field === 1 && t.wire === 0) await dim();
    else if (t.field === 1 && t.wire === 2) {
      const { start, length } = await cur.span('packed dims');
      await cur.within(start, length, async () => { while (cur.more) await dim(); });
    } else if (t.field === 2 && t.wire === 0) {
      const p = cur.pos;
      const v = BigInt.asIntN(64, await cur.varint('data_type'));
      if (v < 0n || v > 0x7fffffffn) cur.fail(`data_type ${v} is out of range`, p);
      info.dataType = Number(v);
    } else if (t.field === 8 && t.wire === 2) info.name = await readString(cur, 'tensor name');
    else if (t.field === 9 && t.wire === 2) {
      const r = await cur.span('raw_data');
      info.raw = r;
      cur.pos = r.start + r.length; // not read: it is a segment of the file
    } else if (t.field === 13 && t.wire === 2) {
      const { start, length } = await cur.span('external_data');
      await cur.within(start, length, () => readEntry(cur, info.external));
    } else if (t.field === 14 && t.wire === 0) {
      info.dataLocation = await cur.uint('data_location');
    } else if (typed !== undefined && typed !== 'string_data') {
      const p = cur.pos;
      let bytes: Uint8Array;
      if (t.wire === 2) {
        const { length } = await cur.span(typed);
        bytes = await cur.bytes(length, typed);
      } else if (t.wire === 0) {
        bytes = encodeVarint(await cur.varint(typed)); // the value, re-encoded: no second read of the file
      } else {
        bytes = await cur.bytes(t.wire === 1 ? 8 : 4, typed);
      }
      const list = info.typed.get(typed) ?? [];
      list.push({ wire: t.wire, bytes, at: p });
      info.typed.set(typed, list);
    } else {
      if (typed === 'string_data') info.typed.set('string_data', []);
      await cur.skip(t.wire, `field ${t.field} of TensorProto`);
    }
  }
  return info;
}

/** Checks an external location is a relative path that stays inside the model's directory. */
function safeLocation(src: ByteSource, at: number, location: string): string {
  const n = normalize(location);
  if (location === '' || location.includes('\0') || isAbsolute(location) || n === '..' || n.startsWith(`..${sep}`) || n.startsWith('../')) {
    unsupported(src, at, `external data location ${JSON.stringify(location)} (must be a relative path inside the model's directory)`);
  }
  return n;
}

function decimal(src: ByteSource, at: number, key: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v) || !Number.isSafeInteger(Number(v))) throw formatError(src.name, at, `external_data ${key} ${JSON.stringify(v)} is not a byte count`);
  return Number(v);
}

async function externalTensor(
  src: ByteSource, info: TensorProtoInfo, dtype: DenseDType, byteLength: number, opts: ReadOnnxOptions, refs: OnnxExternalRef[],
): Promise<IngestedTensor> {
  const what = `tensor ${JSON.stringify(info.name)}`;
  const raw = info.external.get('location');
  if (raw === undefined) throw formatError(src.name, info.at, `${what} is external but has no location`);
  const location = safeLocation(src, info.at, raw);
  const offset = decimal(src, info.at, 'offset', info.external.get('offset')) ?? 0;
  const length = decimal(src, info.at, 'length', info.external.get('length')) ?? byteLength;
  if (length !== byteLength) throw formatError(src.name, info.at, `${what} has external length ${length}, expected ${byteLength}`);
  const open = opts.openExternal ?? ((loc: string) => openFileSource(join(dirname(src.name), loc)));
  const withFile = async <T>(body: (ext: ByteSource) => Promise<T>): Promise<T> => {
    let ext: ByteSource;
    try {
      ext = await open(location);
    } catch (e) {
      if (isEngramError(e, 'NotFound')) unsupported(src, info.at, `${what}: its external data file ${JSON.stringify(location)} is missing`);
      throw e;
    }
    try {
      return await body(ext);
    } finally {
      await ext.close();
    }
  };
  await withFile(async (ext) => {
    if (offset + length > ext.size) throw formatError(src.name, info.at, `${what} reads ${length} bytes at ${offset} of the ${ext.size}-byte ${JSON.stringify(location)}`);
  });
  refs.push({ name: info.name, dtype, shape: info.dims, location, offset, byteLength });
  // The external file is opened on each load, not held: readers return no handle to close.
  return {
    name: info.name, dtype, shape: info.dims, byteLength,
    load: () => withFile((ext) => fileTensor(ext, { name: info.name, dtype, shape: info.dims, byteLength, offset }).load()),
  };
}

/**
 * Reads an ONNX model's initializers as tensors and the file as an exact layout. A data type engram
 * has no dtype for (STRING, COMPLEX, FNUZ float8, 4-bit) or external data it may not or cannot open
 * is a FormatError whose reason starts with "unsupported", so `readTensorFile` keeps the file opaque.
 *
 * @example
 * const src = await openFileSource('model.onnx');
 * try { const { tensors } = await readOnnx(src); } finally { await src.close(); }
 */
export async function readOnnx(src: ByteSource, opts: ReadOnnxOptions = {}): Promise<OnnxFile> {
  const cur = new ProtobufReader(src);
  const protos: TensorProtoInfo[] = [];
  // Depth is fixed by the walk: ModelProto → GraphProto → TensorProto → StringStringEntryProto.
  // Anything deeper (subgraphs, attributes) is skipped by length, never recursed into.
  while (cur.more) {
    const t = await cur.tag();
    if (t.field !== 7 || t.wire !== 2) {
      await cur.skip(t.wire, `field ${t.field} of ModelProto`);
      continue;
    }
    const g = await cur.span('graph');
    await cur.within(g.start, g.length, async () => {
      while (cur.more) {
        const f = await cur.tag();
        if (f.field !== 5 || f.wire !== 2) {
          await cur.skip(f.wire, `field ${f.field} of GraphProto`);
          continue;
        }
        const s = await cur.span('initializer');
        protos.push(await cur.within(s.start, s.length, () => readTensorProto(cur, f.at)));
      }
    });
  }

  const tensors: IngestedTensor[] = [];
  const ranges: TensorRange[] = [];
  const names = new Set<string>();
  const external: OnnxExternalRef[] = [];
  for (const info of protos) {
    const what = `tensor ${JSON.stringify(info.name)}`;
    if (names.has(info.name)) throw formatError(src.name, info.at, `${what} is given twice`);
    names.add(info.name);
    const type = onnxDataType(info.dataType);
    if (!type) unsupported(src, info.at, `ONNX data type ${info.dataType} of ${what}`);
    const { dtype } = type;
    let count = 1n;
    for (const d of info.dims) count *= BigInt(d);
    const bytes = count * BigInt(dtypeSize(dtype));
    if (bytes > MAX_SAFE) throw formatError(src.name, info.at, `${what} of shape [${info.dims.join(', ')}] is too large`);
    const byteLength = Number(bytes);
    const sources = (info.raw ? 1 : 0) + (info.typed.size > 0 ? 1 : 0) + (info.dataLocation === 1 ? 1 : 0);
    if (info.dataLocation > 1) throw formatError(src.name, info.at, `${what} has unknown data_location ${info.dataLocation}`);
    if (sources > 1) throw formatError(src.name, info.at, `${what} has its data in more than one place`);
    if (info.dataLocation === 1) {
      tensors.push(await externalTensor(src, info, dtype, byteLength, opts, external));
    } else if (info.raw) {
      if (info.raw.length !== byteLength) {
        throw formatError(src.name, info.raw.start, `${what} has ${info.raw.length} bytes of raw_data, expected ${byteLength} for ${dtype} [${info.dims.join(', ')}]`);
      }
      tensors.push(fileTensor(src, { name: info.name, dtype, shape: info.dims, byteLength, offset: info.raw.start }));
      ranges.push({ start: info.raw.start, length: byteLength, tensor: info.name });
    } else {
      const field = [...info.typed.keys()][0];
      if (field !== undefined && field !== type.field) throw formatError(src.name, info.at, `${what} of type ${type.name} holds its values in ${field}`);
      let canonical: Uint8Array;
      try {
        canonical = decodeTypedData(type.field, dtype, info.typed.get(type.field) ?? []);
      } catch (e) {
        if (e instanceof TypedDataError) throw formatError(src.name, e.at, `${what}: ${e.reason}`);
        throw e;
      }
      if (canonical.byteLength !== byteLength) {
        throw formatError(src.name, info.at, `${what} holds ${canonical.byteLength / dtypeSize(dtype)} values in ${type.field}, expected ${count} for shape [${info.dims.join(', ')}]`);
      }
      tensors.push({ name: info.name, dtype, shape: info.dims, byteLength, load: async () => { checkLoadable(info.name, byteLength); return canonical.slice(); } });
    }
  }
  const { literal, segments } = await layoutFile(src, ranges);
  return { format: 'onnx', size: src.size, tensors, literal, segments, external };
}


