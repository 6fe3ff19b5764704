/**
 * @module Writes new weights into an existing ONNX model: the template's initializers named in the
 * input get the new bytes (as raw_data, or in an external data file), and every other byte of the
 * model — graph, nodes, attributes, metadata, untouched initializers — is copied from the template
 * as it is. Only the length prefixes of the messages that hold a changed initializer (the graph and
 * that TensorProto) are re-encoded. The output is planned first from the template's structure
 * (sizes only) and then streamed piece by piece, one tensor at a time, so a model of any size is
 * written without holding it; a model whose protobuf would pass 2 GiB must put its weights in an
 * external data file, as ONNX requires.
 */
import { basename, dirname, join } from 'node:path';
import { EngramError } from '../../errors/index.ts';
import type { DType } from '../../tensor/index.ts';
import { openFileSource, type ByteSource } from '../byte-source.ts';
import { bytesField, concatBytes, lengthHeader, varintField, varintSize } from './protobuf-writer.ts';
import { ProtobufReader } from './protobuf-reader.ts';
import { readOnnx, type OnnxExternalRef } from './read-onnx.ts';

/** New contents for one initializer: must have the template's dtype and shape. */
export interface OnnxTensorInput {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** The little-endian C-order bytes, or a function that loads them when the writer reaches them. */
  readonly data: Uint8Array | (() => Promise<Uint8Array>);
}

/** Where `planOnnxWrite` reads the template's external data and puts the output's. */
export interface WriteOnnxOptions {
  /** Opens one of the template's external data files by its location. Default: beside the template. */
  readonly openExternal?: (location: string) => Promise<ByteSource>;
  /**
   * Whether the output keeps weights in an external data file: true, or false for every
   * initializer inline as raw_data. Default: as the template does.
   */
  readonly externalData?: boolean;
  /**
   * The output's external data file, as the model names it (a relative path inside the model's
   * directory). Default: the template's own location, or `<template name>.data` — give another
   * name when the output goes beside the template, so it does not overwrite the template's file.
   */
  readonly dataLocation?: string;
  /**
   * With external data, inline raw_data initializers of at least this many bytes move to the data
   * file too (onnx's `size_threshold` is 1024). Default: none move; only the template's external
   * initializers are external in the output.
   */
  readonly externalThreshold?: number;
}

/** What `planOnnxWrite` will write, and the two byte streams that write it. */
export interface OnnxWritePlan {
  /** Bytes of the output model. */
  readonly modelSize: number;
  /** The external data file's location as the model names it; undefined when there is none. */
  readonly dataLocation?: string;
  /** Bytes of the external data file (0 when there is none). */
  readonly dataSize: number;
  /** Initializers that received new bytes, in model order. */
  readonly replaced: readonly string[];
  /** The model's bytes, in pieces of at most a few MiB (a tensor's bytes are one piece). */
  model(): AsyncGenerator<Uint8Array>;
  /** The external data file's bytes (nothing when `dataLocation` is undefined). */
  data(): AsyncGenerator<Uint8Array>;
}

/** The largest protobuf message ONNX (and protobuf's C++ parser) accepts: 2 GiB − 1. */
export const ONNX_MAX_PROTO_BYTES = 2 ** 31 - 1;

const COPY_WINDOW = 4 * 1024 * 1024;
const DATA_FIELDS = new Set([4, 5, 7, 9, 10, 11, 13, 14]); // typed data, raw_data, external_data, data_location

type Piece =
  | { readonly kind: 'copy'; readonly start: number; readonly length: number }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'tensor'; readonly name: string; readonly length: number }
  | { readonly kind: 'external'; readonly location: string; readonly offset: number; readonly length: number };

const sizeOf = (p: Piece): number => (p.kind === 'bytes' ? p.bytes.byteLength : p.length);
const total = (ps: readonly Piece[]): number => ps.reduce((s, p) => s + sizeOf(p), 0);

/** Appends a piece, merging adjacent template ranges so untouched runs are one copy. */
function add(ps: Piece[], p: Piece): void {
  const last = ps[ps.length - 1];
  if (p.kind === 'copy' && last?.kind === 'copy' && last.start + last.length === p.start) {
    ps[ps.length - 1] = { kind: 'copy', start: last.start, length: last.length + p.length };
  } else if (sizeOf(p) > 0 || p.kind === 'tensor') ps.push(p);
}

/** The fields of one TensorProto: their ranges in the file, and where its data is now. */
interface InitializerFields {
  readonly fields: { field: number; start: number; end: number }[];
  name: string;
}

async function readInitializer(cur: ProtobufReader): Promise<InitializerFields> {
  const out: InitializerFields = { fields: [], name: '' };
  while (cur.more) {
    const t = await cur.tag();
    if (t.field === 8 && t.wire === 2) {
      const { length } = await cur.span('tensor name');
      out.name = new TextDecoder().decode(await cur.bytes(length, 'tensor name'));
    } else await cur.skip(t.wire, `field ${t.field} of TensorProto`);
    out.fields.push({ field: t.field, start: t.at, end: cur.pos });
  }
  return out;
}

function invalid(message: string, data: Record<string, unknown>): EngramError {
  return new EngramError('InvalidArgument', message, data);
}

/**
 * Plans writing `tensors` (by initializer name) into a copy of the model `template`. Checks before
 * anything is written: the template must read as a valid ONNX model (else `FormatError`), every
 * name must be one of its initializers (`NotFound` otherwise) with the same dtype and shape
 * (`InvalidArgument`), and an inline model must stay under 2 GiB (`Unsupported`: use
 * `externalData`). Initializers not named keep their template bytes.
 *
 * @example
 * const plan = await planOnnxWrite(await openFileSource('model.onnx'), new Map([['fc.bias', { dtype: 'F32', shape: [10], data }]]));
 * await writeFileAtomic('tuned.onnx', plan.model());
 */
export async function planOnnxWrite(template: ByteSource, tensors: ReadonlyMap<string, OnnxTensorInput>, options: WriteOnnxOptions = {}): Promise<OnnxWritePlan> {
  const openExternal = options.openExternal ?? ((loc: string) => openFileSource(join(dirname(template.name), loc)));
  // A full read first: it validates the template (lengths, dtypes, external ranges) and lists it.
  const read = await readOnnx(template, { openExternal });
  // Only the main graph's initializers are written; Constant node values and subgraph tensors are copied as they are.
  const isInitializer = (name: string): boolean => read.origin[name] === 'initializer';
  const onnx = { tensors: read.tensors.filter((t) => isInitializer(t.name)), external: read.external.filter((e) => isInitializer(e.name)) };
  const known = new Map(onnx.tensors.map((t) => [t.name, t]));
  const externalOf = new Map<string, OnnxExternalRef>(onnx.external.map((e) => [e.name, e]));
  for (const [name, t] of tensors) {
    const have = known.get(name);
    if (!have) {
      throw new EngramError('NotFound', `the template ${basename(template.name)} has no initializer named ${JSON.stringify(name)}`, {
        tensor: name, template: template.name, initializers: onnx.tensors.length,
      });
    }
    const sameShape = have.shape.length === t.shape.length && have.shape.every((d, i) => d === t.shape[i]);
    if (have.dtype !== t.dtype || !sameShape) {
      throw invalid(`initializer ${JSON.stringify(name)} is ${have.dtype} [${have.shape.join(', ')}] in the template, but the new tensor is ${t.dtype} [${t.shape.join(', ')}]`, {
        tensor: name, expected: { dtype: have.dtype, shape: [...have.shape] }, got: { dtype: t.dtype, shape: [...t.shape] },
      });
    }
  }
  const external = options.externalData ?? onnx.external.length > 0;
  const location = !external ? undefined : options.dataLocation ?? onnx.external[0]?.location ?? `${basename(template.name)}.data`;
  if (location !== undefined && (location === '' || location.includes('\0') || location.startsWith('/') || location.split(/[\\/]/).includes('..'))) {
    throw invalid(`external data location ${JSON.stringify(location)} must be a relative path inside the model's directory`, { location });
  }
  const threshold = options.externalThreshold ?? Infinity;

  const dataPieces: Piece[] = [];
  let dataSize = 0;
  const replaced: string[] = [];

  /** The TensorProto's new data fields, and the data file pieces they point at. */
  const dataFields = (name: string, byteLength: number, source: Piece): Piece[] => {
    const goesExternal = location !== undefined && (externalOf.has(name) || byteLength >= threshold);
    if (!goesExternal) return [{ kind: 'bytes', bytes: lengthHeader(9, byteLength) }, source];
    const offset = dataSize;
    add(dataPieces, source);
    dataSize += byteLength;
    // The order onnx's set_external_data writes: location, offset, length; then data_location.
    const entry = (key: string, value: string): Uint8Array => bytesField(13, concatBytes([bytesField(1, key), bytesField(2, value)]));
    return [{ kind: 'bytes', bytes: concatBytes([entry('location', location), entry('offset', String(offset)), entry('length', String(byteLength)), varintField(14, 1)]) }];
  };

  const initializerPieces = async (cur: ProtobufReader, at: number, end: number): Promise<Piece[]> => {
    const info = await readInitializer(cur);
    const t = known.get(info.name)!;
    const ext = externalOf.get(info.name);
    const input = tensors.get(info.name);
    let source: Piece | undefined;
    if (input) {
      replaced.push(info.name);
      source = { kind: 'tensor', name: info.name, length: t.byteLength };
    } else if (ext) {
      source = { kind: 'external', location: ext.location, offset: ext.offset, length: ext.byteLength };
    } else {
      // protobuf's last-one-wins, as readOnnx reads it: the last raw_data field holds the bytes.
      const raw = info.fields.filter((f) => f.field === 9).pop();
      // Typed-field data (float_data, …) stays as it is; so does raw_data that stays inline.
      const moves = raw !== undefined && location !== undefined && t.byteLength >= threshold;
      if (!moves) return [{ kind: 'copy', start: at, length: end - at }];
      source = { kind: 'copy', start: raw.end - t.byteLength, length: t.byteLength };
    }
    const body: Piece[] = [];
    let placed = false;
    const fields = dataFields(info.name, t.byteLength, source);
    for (const f of info.fields) {
      if (!DATA_FIELDS.has(f.field)) add(body, { kind: 'copy', start: f.start, length: f.end - f.start });
      else if (!placed) {
        for (const p of fields) add(body, p);
        placed = true;
      }
    }
    if (!placed) for (const p of fields) add(body, p);
    return [{ kind: 'bytes', bytes: lengthHeader(5, total(body)) }, ...body];
  };

  const cur = new ProtobufReader(template);
  const model: Piece[] = [];
  while (cur.more) {
    const t = await cur.tag();
    if (t.field !== 7 || t.wire !== 2) {
      await cur.skip(t.wire, `field ${t.field} of ModelProto`);
      add(model, { kind: 'copy', start: t.at, length: cur.pos - t.at });
      continue;
    }
    const g = await cur.span('graph');
    const graph: Piece[] = [];
    await cur.within(g.start, g.length, async () => {
      while (cur.more) {
        const f = await cur.tag();
        if (f.field !== 5 || f.wire !== 2) {
          await cur.skip(f.wire, `field ${f.field} of GraphProto`);
          add(graph, { kind: 'copy', start: f.at, length: cur.pos - f.at });
          continue;
        }
        const s = await cur.span('initializer');
        const ps = await cur.within(s.start, s.length, () => initializerPieces(cur, f.at, s.start + s.length));
        for (const p of ps) add(graph, p);
      }
    });
    add(model, { kind: 'bytes', bytes: lengthHeader(7, total(graph)) });
    for (const p of graph) add(model, p);
  }
  const modelSize = total(model);
  if (modelSize > ONNX_MAX_PROTO_BYTES) {
    throw new EngramError('Unsupported', `the model would be ${modelSize} bytes, over protobuf's 2 GiB limit; put its weights in an external data file`, {
      bytes: modelSize, limit: ONNX_MAX_PROTO_BYTES,
    });
  }

  const stream = async function* (pieces: readonly Piece[]): AsyncGenerator<Uint8Array> {
    const open = new Map<string, ByteSource>();
    try {
      for (const p of pieces) {
        if (p.kind === 'bytes') yield p.bytes;
        else if (p.kind === 'tensor') {
          const input = tensors.get(p.name)!;
          const bytes = typeof input.data === 'function' ? await input.data() : input.data;
          if (bytes.byteLength !== p.length) {
            throw invalid(`tensor ${JSON.stringify(p.name)} has ${bytes.byteLength} bytes, expected ${p.length} for ${input.dtype} [${input.shape.join(', ')}]`, { tensor: p.name });
          }
          yield bytes;
        } else {
          let src = template;
          if (p.kind === 'external') {
            src = open.get(p.location) ?? (await openExternal(p.location));
            open.set(p.location, src);
          }
          const start = p.kind === 'external' ? p.offset : p.start;
          for (let at = 0; at < p.length; at += COPY_WINDOW) {
            yield await src.read(start + at, Math.min(COPY_WINDOW, p.length - at));
          }
        }
      }
    } finally {
      for (const s of open.values()) await s.close();
    }
  };

  return {
    modelSize,
    ...(location !== undefined && dataSize + dataPieces.length > 0 ? { dataLocation: location } : {}),
    dataSize,
    replaced,
    model: () => stream(model),
    data: () => stream(dataPieces),
  };
}

/** Collects a plan's streams into memory: for small models and tests. */
export async function writeOnnx(
  template: ByteSource, tensors: ReadonlyMap<string, OnnxTensorInput>, options: WriteOnnxOptions = {},
): Promise<{ model: Uint8Array; data?: Uint8Array; dataLocation?: string }> {
  const plan = await planOnnxWrite(template, tensors, options);
  const collect = async (g: AsyncGenerator<Uint8Array>): Promise<Uint8Array> => {
    const parts: Uint8Array[] = [];
    for await (const p of g) parts.push(p);
    return concatBytes(parts);
  };
  const model = await collect(plan.model());
  if (plan.dataLocation === undefined) return { model };
  return { model, data: await collect(plan.data()), dataLocation: plan.dataLocation };
}
