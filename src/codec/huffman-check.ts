/**
 * @module The check a Huffman payload (huffman.ts) carries of its plane: Huffman's prefix codes
 * resynchronise, so a damaged stream often still decodes to the right number of symbols, and only a
 * check of the decoded bytes catches it. A Fletcher-style sum over the plane as little-endian u32
 * words, zero-padded to a multiple of 16 bytes, in four lanes (word i goes to lane i mod 4), each
 * lane a running sum A and a sum of running sums B, mod 2^32, folded with the plane's length into
 * one word; wasm/huffman.c computes the same in SIMD at memory speed.
 */

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The check of `p` that a Huffman payload carries (module comment). */
export function planeCheck(p: Uint8Array): number {
  const n = p.byteLength;
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
  const blocks = n >>> 4;
  if (littleEndian && (p.byteOffset & 3) === 0) {
    const u = new Uint32Array(p.buffer, p.byteOffset, blocks * 4);
    for (let i = 0; i < u.length; i += 4) {
      a0 = (a0 + u[i]!) | 0; b0 = (b0 + a0) | 0;
      a1 = (a1 + u[i + 1]!) | 0; b1 = (b1 + a1) | 0;
      a2 = (a2 + u[i + 2]!) | 0; b2 = (b2 + a2) | 0;
      a3 = (a3 + u[i + 3]!) | 0; b3 = (b3 + a3) | 0;
    }
  } else {
    for (let i = 0; i < blocks * 16; i += 16) {
      a0 = (a0 + (p[i]! | (p[i + 1]! << 8) | (p[i + 2]! << 16) | (p[i + 3]! << 24))) | 0; b0 = (b0 + a0) | 0;
      a1 = (a1 + (p[i + 4]! | (p[i + 5]! << 8) | (p[i + 6]! << 16) | (p[i + 7]! << 24))) | 0; b1 = (b1 + a1) | 0;
      a2 = (a2 + (p[i + 8]! | (p[i + 9]! << 8) | (p[i + 10]! << 16) | (p[i + 11]! << 24))) | 0; b2 = (b2 + a2) | 0;
      a3 = (a3 + (p[i + 12]! | (p[i + 13]! << 8) | (p[i + 14]! << 16) | (p[i + 15]! << 24))) | 0; b3 = (b3 + a3) | 0;
    }
  }
  if (n & 15) {
    const w = [0, 0, 0, 0];
    for (let i = blocks * 16; i < n; i++) w[(i >> 2) & 3] |= p[i]! << (8 * (i & 3));
    a0 = (a0 + w[0]!) | 0; b0 = (b0 + a0) | 0;
    a1 = (a1 + w[1]!) | 0; b1 = (b1 + a1) | 0;
    a2 = (a2 + w[2]!) | 0; b2 = (b2 + a2) | 0;
    a3 = (a3 + w[3]!) | 0; b3 = (b3 + a3) | 0;
  }
  return foldCheck(a0, a1, a2, a3, b0, b1, b2, b3, n);
}

/** Folds the eight lane sums into the check word (wasm/huffman.c folds the same way). */
function foldCheck(a0: number, a1: number, a2: number, a3: number, b0: number, b1: number, b2: number, b3: number, n: number): number {
  let h = a0 ^ Math.imul(a1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca77) ^ a2;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae3d) ^ a3;
  h = Math.imul(h ^ (h >>> 16), 0x27d4eb2f) ^ b0;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca77) ^ b1;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae3d) ^ b2;
  h = Math.imul(h ^ (h >>> 16), 0x27d4eb2f) ^ b3;
  // The length too: zero padding leaves the sums as they are.
  h = Math.imul(h ^ (h >>> 15), 0x85ebca77) ^ n;
  return (h ^ (h >>> 13)) >>> 0;
}
