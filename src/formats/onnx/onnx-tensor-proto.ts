/**
 * @module One ONNX TensorProto, parsed without reading its data: where raw_data sits in the file,
 * the typed-field values, external data entries. Shared by initializers and Constant node values.
 */
import { formatError } from '../../errors/index.ts';
import type { ByteSource } from '../byte-source.ts';
import type { OnnxTypedField } from './onnx-data-type.ts';
import { encodeVarint, type TypedChunk } from './onnx-typed-data.ts';
import type { ProtobufReader } from './protobuf-reader.ts';

/** Where one initializer's data is, as the TensorProto describes it. */
export interface TensorProtoInfo {
  name: string;
  dims: number[];
  dataType: number;
  raw?: { start: number; length: number };
  typed: Map<OnnxTypedField | 'string_data', TypedChunk[]>;
  external: Map<string, string>;
  dataLocation: number;
  /** The proto holds only a range of its tensor (TensorProto.segment): engram does not join segments. */
  segmented: boolean;
  at: number;
}

const TYPED_FIELDS: Readonly<Record<number, OnnxTypedField | 'string_data'>> = {
  4: 'float_data', 5: 'int32_data', 6: 'string_data', 7: 'int64_data', 10: 'double_data', 11: 'uint64_data',
};
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A FormatError whose reason starts with "unsupported": `readTensorFile` keeps the file opaque. */
export function unsupported(src: ByteSource, at: number, reason: string): never {
  throw formatError(src.name, at, `unsupported ${reason}`);
}

export async function readString(cur: ProtobufReader, what: string): Promise<string> {
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

export async function readTensorProto(cur: ProtobufReader, at: number): Promise<TensorProtoInfo> {
  const info: TensorProtoInfo = { name: '', dims: [], dataType: 0, typed: new Map(), external: new Map(), dataLocation: 0, segmented: false, at };
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
    } else if (t.field === 3 && t.wire === 2) {
      info.segmented = true;
      await cur.skip(t.wire, 'segment');
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

