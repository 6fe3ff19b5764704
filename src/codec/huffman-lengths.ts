/**
 * @module Code lengths and canonical codes for the Huffman plane coder (huffman.ts): optimal
 * length-limited code lengths by package-merge, and the canonical, bit-reversed codes that both the
 * TypeScript loops and the WebAssembly kernel write. The lengths are computed here only (the kernel
 * receives the finished codes), so both coders produce the same bytes by construction.
 */

/**
 * Package-merge lists: per level, up to 2·256 − 2 items of weight (the sum of the leaf counts under
 * it) and whether the item is a leaf. Scratch reused across calls.
 */
const MAX_ITEMS = 2 * 256 - 2;
const MAX_LEVELS = 16;
const itemWeight = new Float64Array(MAX_LEVELS * MAX_ITEMS);
const itemLeaf = new Uint8Array(MAX_LEVELS * MAX_ITEMS);
const levelSize = new Int32Array(MAX_LEVELS);
/** Present symbols by ascending count, ties by ascending symbol. */
const order = new Int32Array(256);

/**
 * Fills `lengths[0..255]` with optimal prefix-code lengths of at most `maxLength` bits for the
 * symbol counts `counts` (0 = absent, length 0), by package-merge (Larmore–Hirschberg). Needs at
 * least two present symbols and 2^maxLength ≥ their number. The result is deterministic: ties
 * between equal weights go to the leaf, and symbols of equal count are ordered by value. The code
 * it describes is complete (Kraft sum exactly 1). Returns the longest length.
 */
export function limitedLengths(counts: Uint32Array, maxLength: number, lengths: Uint8Array): number {
  let k = 0;
  for (let s = 0; s < 256; s++) if (counts[s]! > 0) order[k++] = s;
  // Insertion sort by (count, symbol): k ≤ 256, and the counts often arrive nearly sorted.
  for (let i = 1; i < k; i++) {
    const s = order[i]!;
    const c = counts[s]!;
    let j = i - 1;
    while (j >= 0 && counts[order[j]!]! > c) {
      order[j + 1] = order[j]!;
      j--;
    }
    order[j + 1] = s;
  }
  const keep = 2 * k - 2;
  // Level 0 is the deepest (bit maxLength): the leaves alone.
  for (let i = 0; i < k; i++) {
    itemWeight[i] = counts[order[i]!]!;
    itemLeaf[i] = 1;
  }
  levelSize[0] = Math.min(k, keep);
  for (let level = 1; level < maxLength; level++) {
    const prev = (level - 1) * MAX_ITEMS;
    const packages = levelSize[level - 1]! >> 1;
    const at = level * MAX_ITEMS;
    let leaf = 0, pkg = 0, m = 0;
    // Merge the leaves with the pairs of the level below, ascending; a tie goes to the leaf.
    while (m < keep && (leaf < k || pkg < packages)) {
      const pw = pkg < packages ? itemWeight[prev + 2 * pkg]! + itemWeight[prev + 2 * pkg + 1]! : Infinity;
      const lw = leaf < k ? counts[order[leaf]!]! : Infinity;
      if (lw <= pw) {
        itemWeight[at + m] = lw;
        itemLeaf[at + m] = 1;
        leaf++;
      } else {
        itemWeight[at + m] = pw;
        itemLeaf[at + m] = 0;
        pkg++;
      }
      m++;
    }
    levelSize[level] = m;
  }
  lengths.fill(0);
  // Take the first 2k − 2 items of the top level; each package taken takes two items of the level
  // below. A leaf taken at a level adds one bit to its symbol; the leaves taken at a level are
  // always a prefix of the sorted leaves, so counting them suffices.
  let take = keep;
  for (let level = maxLength - 1; level >= 0 && take > 0; level--) {
    const at = level * MAX_ITEMS;
    let leaves = 0;
    for (let i = 0; i < take; i++) leaves += itemLeaf[at + i]!;
    for (let i = 0; i < leaves; i++) lengths[order[i]!]!++;
    take = 2 * (take - leaves);
  }
  let longest = 0;
  for (let s = 0; s < 256; s++) if (lengths[s]! > longest) longest = lengths[s]!;
  return longest;
}

/** `code` (of `length` bits) with its bits in reverse order: LSB-first streams start with the MSB. */
function reverseBits(code: number, length: number): number {
  let r = 0;
  for (let i = 0; i < length; i++) r |= ((code >>> i) & 1) << (length - 1 - i);
  return r;
}

/**
 * Fills `codes[s]` with the canonical code of every symbol of nonzero length (codes of one length
 * are consecutive in symbol order, shorter lengths first), bit-reversed so that an LSB-first reader
 * meets its first bit first, as `code | length << 16`; 0 for the symbols of length 0. Returns false when the lengths do not form a
 * complete prefix code (Kraft sum ≠ 1), which a decoder must refuse. Lengths are 1..maxLength.
 */
export function canonicalCodes(lengths: Uint8Array, maxLength: number, codes: Uint32Array): boolean {
  let kraft = 0;
  for (let s = 0; s < 256; s++) {
    const l = lengths[s]!;
    if (l !== 0) kraft += 1 << (maxLength - l);
  }
  if (kraft !== 1 << maxLength) return false;
  codes.fill(0);
  let code = 0;
  for (let l = 1; l <= maxLength; l++) {
    for (let s = 0; s < 256; s++) {
      if (lengths[s] !== l) continue;
      codes[s] = reverseBits(code, l) | (l << 16);
      code++;
    }
    code <<= 1;
  }
  return true;
}

/**
 * Fills the decoder's table of 2^bits u16 entries, indexed by the next `bits` bits of a stream
 * (LSB-first): `length << 8 | symbol` of the code those bits start with. Needs {@link canonicalCodes}'
 * output for a complete code, which fills every entry.
 */
export function decodeTable(codes: Uint32Array, lengths: Uint8Array, bits: number, table: Uint16Array): void {
  const size = 1 << bits;
  for (let s = 0; s < 256; s++) {
    const l = lengths[s]!;
    if (l === 0) continue;
    const entry = (l << 8) | s;
    for (let j = codes[s]! & 0xffff; j < size; j += 1 << l) table[j] = entry;
  }
}
