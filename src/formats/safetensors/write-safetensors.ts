/**
 * @module Writes .safetensors exactly as the reference implementation (the Rust `safetensors`
 * crate, which the Python package calls) does, so files engram restores match what
 * `safetensors.save_file` would write for the same tensors.
 */
import { EngramError } from '../../errors/index.ts';
import { byteLengthOf, type DenseDType, type DType, type NamedTensor } from '../../tensor/index.ts';
import { collectSteps, concatPieces, received, type TensorMeta, type WriteSteps } from '../write-steps.ts';

// The crate sorts by its Dtype enum, declared "in increasing alignment order", descending; within
// one size the enum order still decides (U64 before I64 before F64), then the name.
const RUST_DTYPE_ORDER: readonly DenseDType[] = [
  'BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64',
];

/** @deprecated use NamedTensor (tensor/) */
export type SafetensorsInput = NamedTensor;

/**
 * The .safetensors bytes of `tensors` (little-endian C-order data) with optional `__metadata__`.
 * Compact JSON, `__metadata__` first, tensors by dtype (widest first) then name, data contiguous
 * in that order, header padded with spaces to a multiple of 8 bytes. Throws `InvalidArgument` for
 * duplicate names, opaque dtypes or data that does not fit its shape.
 *
 * @example writeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(8) }], { format: 'pt' })
 */
export function writeSafetensors(tensors: readonly NamedTensor[], metadata?: Readonly<Record<string, string>>): Uint8Array {
  const meta = tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength }));
  return concatPieces(collectSteps(safetensorsSteps(meta, metadata), tensors));
}

/**
 * {@link writeSafetensors} as steps (see write-steps.ts): every check and the header come from
 * the tensors' descriptions, before any tensor is asked for; then each tensor's bytes, once.
 */
export function* safetensorsSteps(tensors: readonly TensorMeta[], metadata?: Readonly<Record<string, string>>): WriteSteps {
  const rank = (d: DType): number => {
    const r = RUST_DTYPE_ORDER.indexOf(d as DenseDType);
    if (r < 0) throw new EngramError('InvalidArgument', `safetensors has no dtype ${d}`, { dtype: d });
    return r;
  };
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__' || seen.has(t.name)) {
      throw new EngramError('InvalidArgument', `tensor name ${JSON.stringify(t.name)} is reserved or repeated`, { name: t.name });
    }
    seen.add(t.name);
    rank(t.dtype);
    const want = byteLengthOf(t.dtype, t.shape);
    if (t.byteLength !== want) {
      throw new EngramError('InvalidArgument', `tensor ${JSON.stringify(t.name)} of ${t.dtype}[${t.shape.join(', ')}] needs ${want} bytes, got ${t.byteLength}`, {
        name: t.name, bytes: t.byteLength,
      });
    }
  }
  // Rust compares names as byte strings; UTF-16 order differs only for astral characters, so
  // compare code points.
  const byName = (a: string, b: string): number => {
    const x = [...a].map((c) => c.codePointAt(0)!);
    const y = [...b].map((c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return x.length - y.length;
  };
  const ordered = tensors.map((t, index) => ({ t, index })).sort((a, b) => rank(b.t.dtype) - rank(a.t.dtype) || byName(a.t.name, b.t.name));

  // Built as text so key order is ours (JSON.stringify of an object would move integer-like
  // names first); JSON.stringify of each string escapes exactly what serde_json escapes.
  const fields: string[] = [];
  if (metadata !== undefined) {
    fields.push(`"__metadata__":{${Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  let offset = 0;
  for (const { t } of ordered) {
    const end = offset + t.byteLength;
    fields.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  const headerLength = json.byteLength + ((8 - (json.byteLength % 8)) % 8);
  const head = new Uint8Array(8 + headerLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
  head.set(json, 8);
  head.fill(0x20, 8 + json.byteLength);
  yield head;
  for (const { index } of ordered) yield received(yield index, index);
}
