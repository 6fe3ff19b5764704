/**
 * @module Reads an ONNX model's weights (initializers, Constant node values, and both in subgraphs:
 * onnx-graph-tensors.ts) with a bounded protobuf walk that skips everything else by length. A tensor stored as
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
import { onnxDataType } from './onnx-data-type.ts';
import { findGraphTensors, type FoundTensorProto } from './onnx-graph-tensors.ts';
import { unsupported, type TensorProtoInfo } from './onnx-tensor-proto.ts';
import { decodeTypedData, TypedDataError } from './onnx-typed-data.ts';
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
  /** Tensors stored as external data, in file order. */
  readonly external: readonly OnnxExternalRef[];
  /** Where the model holds each tensor: only `initializer`s are written by `planOnnxWrite`. */
  readonly origin: Readonly<Record<string, OnnxTensorOrigin>>;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

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
  src: ByteSource, info: TensorProtoInfo, name: string, dtype: DenseDType, byteLength: number, opts: ReadOnnxOptions, refs: OnnxExternalRef[],
): Promise<IngestedTensor> {
  const what = `tensor ${JSON.stringify(name)}`;
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
  refs.push({ name, dtype, shape: info.dims, location, offset, byteLength });
  // The external file is opened on each load, not held: readers return no handle to close.
  return {
    name, dtype, shape: info.dims, byteLength,
    load: () => withFile((ext) => fileTensor(ext, { name, dtype, shape: info.dims, byteLength, offset }).load()),
  };
}

/** Names of the tensors `readOnnx` lists, by where the model holds them. */
export type OnnxTensorOrigin = FoundTensorProto['source'];

/**
 * Reads an ONNX model's weights as tensors and the file as an exact layout: the main graph's
 * initializers (by name), the `value` tensors of Constant nodes (by the node's output name) and the
 * initializers and Constants of subgraphs (If/Loop/Scan, nested), in file order. Names are unique:
 * a Constant or subgraph tensor whose name is empty or already taken gets `constant:<i>` or a
 * `~<k>` suffix, in file order, so the same file always gives the same names. A main-graph
 * initializer of a data type engram has no dtype for (STRING, COMPLEX, FNUZ float8, 4-bit), in
 * segments, or with external data it may not or cannot open is a FormatError whose reason starts
 * with "unsupported", so `readTensorFile` keeps the file opaque; such a Constant or subgraph tensor
 * is left as literal bytes of the file (not a tensor), as are `value_float(s)`/`value_int(s)`
 * Constants and sparse tensors.
 *
 * @example
 * const src = await openFileSource('model.onnx');
 * try { const { tensors } = await readOnnx(src); } finally { await src.close(); }
 */
export async function readOnnx(src: ByteSource, opts: ReadOnnxOptions = {}): Promise<OnnxFile> {
  const found = await findGraphTensors(new ProtobufReader(src));
  const names = new Set<string>();
  for (const f of found) {
    if (f.source !== 'initializer') continue;
    if (names.has(f.name)) throw formatError(src.name, f.info.at, `tensor ${JSON.stringify(f.name)} is given twice`);
    names.add(f.name);
  }
  const tensors: IngestedTensor[] = [];
  const ranges: TensorRange[] = [];
  const external: OnnxExternalRef[] = [];
  const origin: Record<string, OnnxTensorOrigin> = {};
  let unnamed = 0;
  for (const f of found) {
    let name = f.name;
    if (f.source !== 'initializer') {
      if (name === '') name = `constant:${unnamed++}`;
      for (let k = 2; names.has(name); k++) name = `${f.name || 'constant'}~${k}`;
    }
    let tensor: IngestedTensor;
    try {
      tensor = await protoTensor(src, f.info, name, opts, external, ranges);
    } catch (e) {
      // A Constant or subgraph tensor engram cannot hold stays literal bytes; the weights around it are still read.
      if (f.source !== 'initializer' && isEngramError(e, 'FormatError') && String(e.data.reason ?? '').startsWith('unsupported')) continue;
      throw e;
    }
    names.add(name);
    origin[name] = f.source;
    tensors.push(tensor);
  }
  const { literal, segments } = await layoutFile(src, ranges);
  return { format: 'onnx', size: src.size, tensors, literal, segments, external, origin };
}

/** The tensor of one TensorProto, named `name`; a raw_data payload adds its range to `ranges`. */
async function protoTensor(
  src: ByteSource, info: TensorProtoInfo, name: string, opts: ReadOnnxOptions, external: OnnxExternalRef[], ranges: TensorRange[],
): Promise<IngestedTensor> {
  const what = `tensor ${JSON.stringify(name)}`;
  const type = onnxDataType(info.dataType);
  if (!type) unsupported(src, info.at, `ONNX data type ${info.dataType} of ${what}`);
  if (info.segmented) unsupported(src, info.at, `${what} stored in segments`);
  const { dtype } = type;
  let count = 1n;
  for (const d of info.dims) count *= BigInt(d);
  const bytes = count * BigInt(dtypeSize(dtype));
  if (bytes > MAX_SAFE) throw formatError(src.name, info.at, `${what} of shape [${info.dims.join(', ')}] is too large`);
  const byteLength = Number(bytes);
  const sources = (info.raw ? 1 : 0) + (info.typed.size > 0 ? 1 : 0) + (info.dataLocation === 1 ? 1 : 0);
  if (info.dataLocation > 1) throw formatError(src.name, info.at, `${what} has unknown data_location ${info.dataLocation}`);
  if (sources > 1) throw formatError(src.name, info.at, `${what} has its data in more than one place`);
  if (info.dataLocation === 1) return externalTensor(src, info, name, dtype, byteLength, opts, external);
  if (info.raw) {
    if (info.raw.length !== byteLength) {
      throw formatError(src.name, info.raw.start, `${what} has ${info.raw.length} bytes of raw_data, expected ${byteLength} for ${dtype} [${info.dims.join(', ')}]`);
    }
    ranges.push({ start: info.raw.start, length: byteLength, tensor: name });
    return fileTensor(src, { name, dtype, shape: info.dims, byteLength, offset: info.raw.start });
  }
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
  return { name, dtype, shape: info.dims, byteLength, load: async () => { checkLoadable(name, byteLength); return canonical.slice(); } };
}
