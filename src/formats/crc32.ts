/** @module CRC-32 (IEEE 802.3, as zip uses it), table-driven; node:zlib has no crc32 in Node 20. */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * The CRC-32 of `data`, as an unsigned 32-bit number; given the CRC of the bytes before it
 * (`previous`), the CRC of both together, so a zip member's CRC can run over its pieces.
 *
 * @example crc32(new TextEncoder().encode('123456789')) // 0xcbf43926
 * @example crc32(data, crc32(header)) === crc32(concat(header, data))
 */
export function crc32(data: Uint8Array, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
