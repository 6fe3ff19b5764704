/**
 * @module The protobuf wire format, writing side: varints, field keys and length-delimited
 * headers. Only headers are built here — a payload is streamed after its header by the caller —
 * so a message of any size is written without holding it, as long as its length is known first.
 */
import { EngramError } from '../../errors/index.ts';

/** Wire type 0: a varint. */
export const WIRE_VARINT = 0;
/** Wire type 2: a length-delimited payload (bytes, strings, embedded messages, packed fields). */
export const WIRE_LEN = 2;

/** The bytes of `value` as a protobuf varint (unsigned, up to 64 bits). */
export function varint(value: number | bigint): Uint8Array {
  let v = BigInt(value);
  if (v < 0n || v >= 1n << 64n) throw new EngramError('InvalidArgument', `${value} does not fit an unsigned 64-bit varint`, { value: String(value) });
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return Uint8Array.from(out);
}

/** How many bytes `value` takes as a varint. */
export function varintSize(value: number): number {
  let n = 1;
  // Division rather than shifts: byte counts exceed 2^32, where JS shifts would wrap.
  for (let v = Math.floor(value / 128); v > 0; v = Math.floor(v / 128)) n++;
  return n;
}

/** A field key: `(field << 3) | wire`. */
export function fieldKey(field: number, wire: number): Uint8Array {
  return varint((BigInt(field) << 3n) | BigInt(wire));
}

/** The key and length of a length-delimited field whose `length`-byte payload follows. */
export function lengthHeader(field: number, length: number): Uint8Array {
  return concatBytes([fieldKey(field, WIRE_LEN), varint(length)]);
}

/** A whole varint field. */
export function varintField(field: number, value: number | bigint): Uint8Array {
  return concatBytes([fieldKey(field, WIRE_VARINT), varint(value)]);
}

/** A whole length-delimited field holding `payload` (a string is written as UTF-8). */
export function bytesField(field: number, payload: Uint8Array | string): Uint8Array {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  return concatBytes([lengthHeader(field, bytes.byteLength), bytes]);
}

/** `parts` joined into one array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
