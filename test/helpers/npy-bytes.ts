/**
 * An .npy file with a hand-written header dictionary, padded as numpy pads (version 1 has a 2-byte
 * header length, clamped for oversized headers; versions 2 and 3 a 4-byte one). For tests that
 * need headers numpy itself would never write.
 */
export function npyBytes(header: string, data: Uint8Array, version = 1): Uint8Array {
  const text = new TextEncoder().encode(header);
  const width = version === 1 ? 2 : 4;
  const prefix = 8 + width;
  const padded = Math.ceil((prefix + text.length + 1) / 64) * 64 - prefix;
  const out = new Uint8Array(prefix + padded + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const v = new DataView(out.buffer);
  if (width === 2) v.setUint16(8, Math.min(padded, 0xffff), true);
  else v.setUint32(8, padded, true);
  out.set(text, prefix);
  out.fill(0x20, prefix + text.length, prefix + padded - 1);
  out[prefix + padded - 1] = 0x0a;
  out.set(data, prefix + padded);
  return out;
}
