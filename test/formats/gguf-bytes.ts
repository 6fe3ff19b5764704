/** Builds GGUF bytes field by field, for tests that need files the writer refuses to write. */
const enc = new TextEncoder();

export const u8 = (x: number): Uint8Array => Uint8Array.of(x);
export function u32(x: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, x, true);
  return b;
}
export function u64(x: bigint | number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(x), true);
  return b;
}
export const str = (s: string): Uint8Array => cat(u64(enc.encode(s).length), enc.encode(s));
export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
/** A GGUF v3 header with `tensors` tensor infos and `kvs` key/values, both given as raw bytes. */
export function header(kvs: Uint8Array[], tensors: Uint8Array[], version = 3): Uint8Array {
  return cat(enc.encode('GGUF'), u32(version), u64(tensors.length), u64(kvs.length), ...kvs, ...tensors);
}
/** A tensor info: name, ggml dims (innermost first), type id, data offset. */
export const info = (name: string, ne: (number | bigint)[], type: number, offset: number | bigint): Uint8Array =>
  cat(str(name), u32(ne.length), ...ne.map((d) => u64(d)), u32(type), u64(offset));
/** Pads `b` with zeros to a multiple of `alignment`, then appends `data`. */
export function withData(b: Uint8Array, data: Uint8Array, alignment = 32): Uint8Array {
  return cat(b, new Uint8Array((alignment - (b.length % alignment)) % alignment), data);
}
