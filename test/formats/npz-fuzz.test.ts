/**
 * Fuzzes the .npz reader with mutations of the numpy corpus (stored and deflated) and of
 * engram-written archives: truncation, bit flips, huge or off-by-some sizes, offsets, counts and
 * name/extra lengths written into the zip's own records (end record, central directory, local
 * headers), wrong member counts, and archives of rewritten .npy members (huge, negative and deeply
 * nested shapes, duplicate names). Every case must end in a typed EngramError or in a read that
 * rebuilds the input exactly; none may request more than a small multiple of the
 * file's size, and no tensor may load more than deflate can expand the file to. Seeded.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { bufferSource, readNpz, readTensorFile, writeNpy, writeNpz } from '../../src/formats/index.ts';
import { writeStoredZip } from '../../src/formats/write-stored-zip.ts';
import { FuzzRun, prng, scribble } from '../helpers/fuzz.ts';
import { counting } from '../helpers/format-checks.ts';
import { npyBytes } from '../helpers/npy-bytes.ts';

const SEED = Number(process.env.NPZ_FUZZ_SEED ?? 0x0e92);
const CASES = Number(process.env.NPZ_FUZZ_CASES ?? 6000);
const DIR = fileURLToPath(new URL('../fixtures/numpy/', import.meta.url));
// Deflate expands at most 1032:1, so no read of a well-bounded reader can produce more than this per file byte.
const DEFLATE_MAX_RATIO = 1032;

/** Where the zip's fields are, found by walking the records (test-side, independently of the reader). */
interface Fields {
  readonly u32: number[]; // sizes, offsets, CRCs
  readonly u16: number[]; // counts, name/extra/comment lengths, methods, flags
  readonly counts: number[]; // EOCD member counts
  readonly structure: number; // bytes up to the end of the last header (local headers are spread, so: all)
}

function fieldsOf(b: Uint8Array): Fields {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const eocd = b.length - 22;
  const f: Fields = { u32: [eocd + 12, eocd + 16], u16: [eocd + 8, eocd + 10, eocd + 20], counts: [eocd + 8, eocd + 10], structure: b.length };
  const n = v.getUint16(eocd + 10, true);
  let p = v.getUint32(eocd + 16, true);
  for (let i = 0; i < n && p + 46 <= eocd; i++) {
    f.u16.push(p + 8, p + 10, p + 28, p + 30, p + 32);
    f.u32.push(p + 16, p + 20, p + 24, p + 42);
    const lho = v.getUint32(p + 42, true);
    if (lho + 30 <= b.length) {
      f.u16.push(lho + 6, lho + 8, lho + 26, lho + 28);
      f.u32.push(lho + 14, lho + 18, lho + 22);
    }
    p += 46 + v.getUint16(p + 28, true) + v.getUint16(p + 30, true) + v.getUint16(p + 32, true);
  }
  return f;
}

const SHAPES = ['(3,)', '(2, 2)', '()', '(0,)', '(99999999999, 99999999999)', '(-1,)', '(9007199254740993,)', "('a',)", '[3]', '(1.5,)'];
const DESCRS = ["'<f4'", "'<i4'", "'|b1'", "'>f8'", "'|O'", "'<c8'", "'<U3'", "'|u1'"];

test(`.npz reader survives ${CASES} mutated archives (seed ${SEED})`, async (t) => {
  const bases: Uint8Array[] = [];
  for (const name of ['stored.npz', 'deflated.npz']) bases.push(new Uint8Array(await readFile(DIR + name)));
  bases.push(writeNpz([
    { name: 'w', dtype: 'F32', shape: [8, 4], data: new Uint8Array(128).map((_, i) => i) },
    { name: 'flag', dtype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) },
  ]));
  // A small deflated archive built here, so deflate-specific mutations also hit a tiny member.
  bases.push(deflatedZip([{ name: 'x.npy', data: writeNpy({ dtype: 'I16', shape: [5], data: new Uint8Array(10).fill(2) }) }]));
  const fields = bases.map(fieldsOf);
  const rnd = prng(SEED);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

  /** An archive of rewritten members: random headers, nesting, duplicate names, many members. */
  const rebuiltArchive = (): Uint8Array => {
    const members = [];
    for (let m = 1 + int(rnd() < 0.05 ? 300 : 4); m > 0; m--) {
      let shape = pick(SHAPES);
      if (rnd() < 0.15) {
        const depth = int(60);
        shape = `${'('.repeat(depth)}1,${'),'.repeat(Math.max(0, depth - 1))}${depth > 0 ? ')' : ''}`;
      }
      const header = `{'descr': ${pick(DESCRS)}, 'fortran_order': ${pick(['False', 'True', '1'])}, 'shape': ${shape}, }`;
      members.push({ name: rnd() < 0.1 ? 'same.npy' : `m${m}.npy`, data: npyBytes(header, new Uint8Array(int(48))) });
    }
    return rnd() < 0.3 ? deflatedZip(members) : writeStoredZip(members);
  };

  const mutate = (b: Uint8Array, f: Fields, kind: number): Uint8Array => {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const setU32 = (at: number, x: number): void => { if (at + 4 <= b.length) v.setUint32(at, x >>> 0, true); };
    const setU16 = (at: number, x: number): void => { if (at + 2 <= b.length) v.setUint16(at, x & 0xffff, true); };
    const getU32 = (at: number): number => (at + 4 <= b.length ? v.getUint32(at, true) : 0);
    const getU16 = (at: number): number => (at + 2 <= b.length ? v.getUint16(at, true) : 0);
    switch (kind) {
      case 0: return b.subarray(0, int(b.length));
      case 1: { // bit flips anywhere (the records are spread through the file)
        for (let k = 1 + int(6); k > 0; k--) b[int(b.length)]! ^= 1 << int(8);
        return b;
      }
      case 2: { // a huge or off-by-some size, offset or CRC
        const at = pick(f.u32);
        setU32(at, rnd() < 0.5 ? pick([0xffffffff, 0x80000000, 0, b.length, b.length + 1, 0x7fffffff]) : getU32(at) + int(9) - 4);
        return b;
      }
      case 3: { // a huge or off-by-some count, length, method or flag
        const at = pick(f.u16);
        setU16(at, rnd() < 0.5 ? pick([0xffff, 0, 1, 8, 12, 99]) : getU16(at) + int(5) - 2);
        return b;
      }
      case 4: { // wrong member count in the end record
        const at = pick(f.counts);
        setU16(at, getU16(at) + int(7) - 3);
        return b;
      }
      case 5: return rebuiltArchive();
      default: return scribble(b, int); // random bytes over a random range
    }
  };

  const run = new FuzzRun();
  for (let i = 0; i < CASES && run.failures.length < 5; i++) {
    const which = int(bases.length);
    let bytes: Uint8Array = bases[which]!.slice();
    for (let m = rnd() < 0.2 ? 2 + int(2) : 1; m > 0; m--) {
      bytes = mutate(bytes, m === 1 || bytes.length === bases[which]!.length ? fields[which]! : fieldsOf(bytes.length >= 22 ? bytes : bases[which]!), int(7)).slice();
    }
    const src = counting(bufferSource(`case-${i}.npz`, bytes));
    // Directory + headers + literal ranges + loads; a deflated member's header is inflated from a
    // growing prefix (1 KiB, ×4 …), which reads its compressed bytes about 1⅓ times more.
    await run.check(i, bytes, src, () => i % 4 === 0 ? readTensorFile(src) : readNpz(src), { maxRequested: 6 * bytes.length + 64, maxLoaded: DEFLATE_MAX_RATIO * bytes.length });
  }
  t.diagnostic(run.summary());
  assert.deepEqual(run.failures, [], `seed ${SEED}`);
  assert.ok(run.succeeded > CASES / 20, `only ${run.succeeded} of ${CASES} cases read successfully`);
});

/** A zip whose members are deflated: a stored zip's records with method 8 and the compressed bytes. */
function deflatedZip(members: readonly { name: string; data: Uint8Array }[]): Uint8Array {
  // Built from a stored zip of the compressed bytes, then each record patched to say "deflate" with
  // the original size and CRC: the layout stays exactly what the stored writer produced.
  const compressed = members.map((m) => ({ name: m.name, data: new Uint8Array(deflateRawSync(m.data)) }));
  const zip = writeStoredZip(compressed);
  const stored = writeStoredZip(members);
  const v = new DataView(zip.buffer);
  const sv = new DataView(stored.buffer);
  const eocd = zip.length - 22;
  let p = v.getUint32(eocd + 16, true);
  let sp = sv.getUint32(stored.length - 22 + 16, true);
  for (let i = 0; i < members.length; i++) {
    const lho = v.getUint32(p + 42, true);
    const crc = sv.getUint32(sp + 16, true);
    const size = members[i]!.data.length;
    for (const [at, method] of [[p + 10, 8], [lho + 8, 8]] as const) v.setUint16(at, method, true);
    v.setUint32(p + 16, crc, true);
    v.setUint32(p + 24, size, true);
    v.setUint32(lho + 14, crc, true);
    v.setUint32(lho + 22, size, true);
    // The ZIP64 extra field of the local header repeats the uncompressed size first.
    v.setBigUint64(lho + 30 + v.getUint16(lho + 26, true) + 4, BigInt(size), true);
    p += 46 + v.getUint16(p + 28, true) + v.getUint16(p + 30, true) + v.getUint16(p + 32, true);
    sp += 46 + sv.getUint16(sp + 28, true) + sv.getUint16(sp + 30, true) + sv.getUint16(sp + 32, true);
  }
  return zip;
}
