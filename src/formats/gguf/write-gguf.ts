/**
 * @module Writes GGUF v3 files the way ggml's `gguf_write_to_file` lays them out: header,
 * metadata, tensor infos, zero padding to the alignment, then each tensor's bytes followed by
 * zero padding to the alignment (the last one too), offsets running in the order given.
 */
import { EngramError } from '../../errors/index.ts';
import { floatFromValue, GGUF_VALUE_TYPES, type GgufKv, type GgufValue, type GgufValueType } from './gguf-value.ts';
import { ggmlTypeByName } from './ggml-type.ts';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_ARRAY_DEPTH, GGUF_MAX_DIMS } from './read-gguf.ts';
import { collectSteps, concatPieces, received, type WriteSteps } from '../write-steps.ts';

/** A tensor to write. */
export interface GgufTensorInput {
  readonly name: string;
  /** ggml type name: `F32`, `F16`, `BF16`, `Q4_0`, `Q4_K`, … */
  readonly type: string;
  /** Logical shape, outermost first (written reversed, as ggml's `ne`). */
  readonly shape: readonly number[];
  /** The tensor's bytes: little-endian C order for dense types, the raw blocks for quantized ones. */
  readonly data: Uint8Array;
}

/** A tensor to write, described without its bytes (`ggufSteps` asks for them by index). */
export type GgufTensorMeta = Omit<GgufTensorInput, 'data'> & { readonly byteLength: number };

/** What `writeGguf` writes. */
export interface GgufInput<T = GgufTensorInput> {
  /** Key/values in the order to write them, each with its value type. */
  readonly metadata?: readonly GgufKv[];
  readonly tensors?: readonly T[];
  /**
   * Data alignment. It must agree with a `general.alignment` in `metadata`; when metadata has
   * none and this is not 32, a `general.alignment` UINT32 entry is appended so readers see it.
   */
  readonly alignment?: number;
}

const bad = (message: string, data: Record<string, unknown> = {}): EngramError => new EngramError('InvalidArgument', message, data);

/** Little-endian bytes, appended in pieces and joined once. */
class ByteWriter {
  private readonly parts: Uint8Array[] = [];
  length = 0;

  bytes(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.byteLength;
  }

  fixed(size: number, set: (v: DataView) => void): void {
    const b = new Uint8Array(size);
    set(new DataView(b.buffer));
    this.bytes(b);
  }

  u32(x: number): void { this.fixed(4, (v) => v.setUint32(0, x, true)); }
  u64(x: bigint): void { this.fixed(8, (v) => v.setBigUint64(0, x, true)); }

  string(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(BigInt(b.byteLength));
    this.bytes(b);
  }

  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    if (n > 0) this.bytes(new Uint8Array(n));
  }

  join(): Uint8Array {
    const out = new Uint8Array(this.length);
    let p = 0;
    for (const b of this.parts) {
      out.set(b, p);
      p += b.byteLength;
    }
    return out;
  }
}

const INT_RANGES: Partial<Record<GgufValueType, readonly [number, number]>> = {
  UINT8: [0, 0xff], INT8: [-0x80, 0x7f], UINT16: [0, 0xffff], INT16: [-0x8000, 0x7fff], UINT32: [0, 0xffffffff], INT32: [-0x80000000, 0x7fffffff],
};

function writeValue(w: ByteWriter, type: GgufValueType, value: GgufValue, what: string, depth: number): void {
  const wrong = (): EngramError => bad(`${what}: ${JSON.stringify(value)} is not a ${type} value`, { type });
  const range = INT_RANGES[type];
  if (range) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1]) throw wrong();
    const size = type === 'UINT8' || type === 'INT8' ? 1 : type === 'UINT16' || type === 'INT16' ? 2 : 4;
    w.fixed(size, (v) => {
      if (type === 'UINT8') v.setUint8(0, value);
      else if (type === 'INT8') v.setInt8(0, value);
      else if (type === 'UINT16') v.setUint16(0, value, true);
      else if (type === 'INT16') v.setInt16(0, value, true);
      else if (type === 'UINT32') v.setUint32(0, value, true);
      else v.setInt32(0, value, true);
    });
    return;
  }
  switch (type) {
    case 'FLOAT32': case 'FLOAT64': {
      const x = floatFromValue(value);
      if (x === undefined) throw wrong();
      if (type === 'FLOAT32') w.fixed(4, (v) => v.setFloat32(0, x, true));
      else w.fixed(8, (v) => v.setFloat64(0, x, true));
      return;
    }
    case 'UINT64': case 'INT64': {
      if (typeof value !== 'string' && typeof value !== 'number') throw wrong();
      let x: bigint;
      try {
        x = BigInt(value);
      } catch {
        throw wrong();
      }
      const ok = type === 'UINT64' ? x >= 0n && x < 1n << 64n : x >= -(1n << 63n) && x < 1n << 63n;
      if (!ok) throw wrong();
      w.fixed(8, (v) => (type === 'UINT64' ? v.setBigUint64(0, x, true) : v.setBigInt64(0, x, true)));
      return;
    }
    case 'BOOL':
      if (typeof value !== 'boolean') throw wrong();
      w.fixed(1, (v) => v.setUint8(0, value ? 1 : 0));
      return;
    case 'STRING':
      if (typeof value !== 'string') throw wrong();
      w.string(value);
      return;
    case 'ARRAY': {
      if (typeof value !== 'object' || !GGUF_VALUE_TYPES.includes(value.itemType) || !Array.isArray(value.items)) throw wrong();
      if (depth >= GGUF_MAX_ARRAY_DEPTH) throw bad(`${what} nests arrays deeper than ${GGUF_MAX_ARRAY_DEPTH}`);
      w.u32(GGUF_VALUE_TYPES.indexOf(value.itemType));
      w.u64(BigInt(value.items.length));
      value.items.forEach((item, k) => writeValue(w, value.itemType, item, `${what}[${k}]`, depth + 1));
      return;
    }
  }
}

/**
 * The bytes of a GGUF v3 file holding `metadata` and `tensors`. Throws `InvalidArgument` for an
 * unknown ggml type, more than 4 dimensions, a shape whose innermost dimension is not whole
 * blocks, data whose length does not match, repeated names or keys, or a value that does not
 * fit its type.
 *
 * @example
 * writeGguf({
 *   metadata: [{ key: 'general.architecture', type: 'STRING', value: 'llama' }],
 *   tensors: [{ name: 'w', type: 'F32', shape: [2, 3], data: new Uint8Array(24) }],
 * });
 */
export function writeGguf(input: GgufInput): Uint8Array {
  const tensors = input.tensors ?? [];
  const meta = tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, byteLength: t.data.byteLength }));
  return concatPieces(collectSteps(ggufSteps({ ...input, tensors: meta }), tensors));
}

/**
 * {@link writeGguf} as steps (see write-steps.ts): header, metadata and tensor infos from the
 * tensors' descriptions, then each tensor's bytes and padding, one tensor at a time.
 */
export function* ggufSteps(input: GgufInput<GgufTensorMeta>): WriteSteps {
  const metadata = [...(input.metadata ?? [])];
  const tensors = input.tensors ?? [];
  const declared = metadata.find((kv) => kv.key === 'general.alignment');
  let alignment = input.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (declared) {
    if (declared.type !== 'UINT32' || typeof declared.value !== 'number') throw bad('general.alignment must be a UINT32 number');
    if (input.alignment !== undefined && input.alignment !== declared.value) {
      throw bad(`alignment ${input.alignment} disagrees with general.alignment ${declared.value}`);
    }
    alignment = declared.value;
  } else if (alignment !== GGUF_DEFAULT_ALIGNMENT) {
    metadata.push({ key: 'general.alignment', type: 'UINT32', value: alignment });
  }
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment > 0x80000000 || (alignment & (alignment - 1)) !== 0) {
    throw bad(`alignment ${alignment} is not a power of two`, { alignment });
  }

  const w = new ByteWriter();
  w.bytes(new Uint8Array(GGUF_MAGIC));
  w.u32(3);
  w.u64(BigInt(tensors.length));
  w.u64(BigInt(metadata.length));
  const keys = new Set<string>();
  for (const kv of metadata) {
    if (keys.has(kv.key)) throw bad(`metadata key ${JSON.stringify(kv.key)} is repeated`, { key: kv.key });
    keys.add(kv.key);
    if (!GGUF_VALUE_TYPES.includes(kv.type)) throw bad(`metadata ${JSON.stringify(kv.key)} has unknown type ${JSON.stringify(kv.type)}`);
    w.string(kv.key);
    w.u32(GGUF_VALUE_TYPES.indexOf(kv.type));
    writeValue(w, kv.type, kv.value, `metadata ${JSON.stringify(kv.key)}`, 0);
  }

  const names = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    const what = `tensor ${JSON.stringify(t.name)}`;
    if (names.has(t.name)) throw bad(`${what} is repeated`, { name: t.name });
    names.add(t.name);
    const type = ggmlTypeByName(t.type);
    if (!type) throw bad(`${what} has unknown ggml type ${JSON.stringify(t.type)}`, { type: t.type });
    if (t.shape.length > GGUF_MAX_DIMS) throw bad(`${what} has ${t.shape.length} dimensions, more than ${GGUF_MAX_DIMS}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`${what} has an invalid shape [${t.shape.join(', ')}]`);
    const inner = t.shape.length === 0 ? 1 : t.shape[t.shape.length - 1]!;
    if (inner % type.blockSize !== 0) throw bad(`${what}: innermost dimension ${inner} is not a multiple of the ${type.blockSize}-element ${type.name} block`);
    const want = (t.shape.reduce((a, d) => a * BigInt(d), 1n) / BigInt(type.blockSize)) * BigInt(type.typeSize);
    if (BigInt(t.byteLength) !== want) throw bad(`${what} of ${type.name}[${t.shape.join(', ')}] needs ${want} bytes, got ${t.byteLength}`);
    w.string(t.name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(BigInt(d));
    w.u32(type.id);
    w.u64(BigInt(offset));
    offset += Math.ceil(t.byteLength / alignment) * alignment;
  }
  w.pad(alignment);
  yield w.join();
  // The header ends aligned and so does every tensor's padded slot, so each pad is its own.
  for (const [i, t] of tensors.entries()) {
    yield received(yield i, i);
    const pad = (alignment - (t.byteLength % alignment)) % alignment;
    if (pad > 0) yield new Uint8Array(pad);
  }
}
