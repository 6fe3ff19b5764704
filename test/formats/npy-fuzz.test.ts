/**
 * Fuzzes the .npy reader with mutations of the numpy corpus and of engram-written files:
 * truncation, bit flips, huge or off-by-some header lengths and versions, rewritten header
 * dictionaries (huge, negative and deeply nested shapes, unknown or big-endian descrs, Fortran
 * flags, missing or extra keys, shapes whose size does not match the data). Every case must end in
 * a typed EngramError or in a read that rebuilds the input exactly; none may
 * request more than a small multiple of the file's size. Seeded, so a failure names its case.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bufferSource, readNpy, readTensorFile, writeNpy } from '../../src/formats/index.ts';
import { FuzzRun, prng, scribble } from '../helpers/fuzz.ts';
import { counting } from '../helpers/format-checks.ts';
import { npyBytes } from '../helpers/npy-bytes.ts';

const SEED = Number(process.env.NPY_FUZZ_SEED ?? 0x0e9f);
const CASES = Number(process.env.NPY_FUZZ_CASES ?? 6000);
const DIR = fileURLToPath(new URL('../fixtures/numpy/', import.meta.url));

const DESCRS = ["'<f4'", "'<f8'", "'<f2'", "'>f4'", "'>i8'", "'|b1'", "'|u1'", "'<i2'", "'<u8'", "'<c16'", "'|O'", "'<U5'", "'|V8'", "'<M8[s]'", "'|S3'",
  "'f4'", "'<f16'", "''", '3', 'None', "[('a', '<f4')]", "'<f4'"];
const SHAPES = ['()', '(0,)', '(3,)', '(2, 3)', '(4, 2)', '(1, 1, 1, 1)', '(99999999999, 99999999999)', '(-1,)', '(2**40,)', '(9007199254740993,)',
  '(18446744073709551617, 0)', '(1.5,)', "('a',)", '(True,)', '[2, 3]', '2', '((2,),)', '()', '(3)', '(0, 99999999999999999999)'];
const ORDERS = ['False', 'True', 'None', '0', "'F'", 'False'];

/** A header dictionary built from random parts: the shape a literal of any depth, keys sometimes missing, doubled or extra. */
function randomHeader(int: (n: number) => number, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  let shape = pick(SHAPES);
  if (rnd() < 0.1) {
    const depth = int(80);
    shape = `${'('.repeat(depth)}2,${'),'.repeat(Math.max(0, depth - 1))}${depth > 0 ? ')' : ''}`;
  }
  const entries = [`'descr': ${pick(DESCRS)}`, `'fortran_order': ${pick(ORDERS)}`, `'shape': ${shape}`];
  if (rnd() < 0.1) entries.splice(int(entries.length), 1);
  if (rnd() < 0.1) entries.push(pick(entries));
  if (rnd() < 0.1) entries.push(`'extra': ${pick(['1', "'x'", '[1, 2]', '{}'])}`);
  if (rnd() < 0.1) entries.push(`'pad': '${'x'.repeat(int(70_000))}'`);
  const body = `{${entries.join(', ')}${rnd() < 0.5 ? ', ' : ''}}`;
  return rnd() < 0.05 ? body.slice(0, int(body.length)) : body;
}

test(`.npy reader survives ${CASES} mutated files (seed ${SEED})`, async (t) => {
  const bases: Uint8Array[] = [];
  for (const name of (await readdir(DIR)).filter((n) => n.endsWith('.npy')).sort()) bases.push(new Uint8Array(await readFile(DIR + name)));
  bases.push(writeNpy({ dtype: 'F32', shape: [16, 8], data: new Uint8Array(512).map((_, i) => i) }));
  bases.push(writeNpy({ dtype: 'I64', shape: [], data: new Uint8Array(8).fill(9) }));
  const rnd = prng(SEED);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const headerEnd = (b: Uint8Array): number => {
    if (b.length < 12) return b.length;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return Math.min(b.length, b[6] === 1 ? 10 + v.getUint16(8, true) : 12 + v.getUint32(8, true));
  };

  const mutate = (b: Uint8Array, kind: number): Uint8Array => {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    switch (kind) {
      case 0: return b.subarray(0, int(b.length));
      case 1: { // bit flips, mostly in the magic, version, length and header text
        for (let k = 1 + int(6); k > 0; k--) {
          const at = rnd() < 0.8 ? int(headerEnd(b)) : int(b.length);
          b[at]! ^= 1 << int(8);
        }
        return b;
      }
      case 2: { // a huge or off-by-some header length
        if (b.length < 12) return b;
        if (b[6] === 1) v.setUint16(8, rnd() < 0.5 ? pick([0xffff, 0, 1, 0x8000]) : (v.getUint16(8, true) + int(9) - 4) & 0xffff, true);
        else v.setUint32(8, rnd() < 0.5 ? pick([0xffffffff, 0, 1, 1 << 20, (1 << 20) + 1]) : (v.getUint32(8, true) + int(9) - 4) >>> 0, true);
        return b;
      }
      case 3: if (b.length > 7) { b[6] = pick([0, 1, 2, 3, 4, 255]); b[7] = pick([0, 0, 0, 1]); } return b;
      case 4: { // a rewritten header over the original data (or a slice of it, or more)
        const data = b.subarray(headerEnd(b));
        const body = rnd() < 0.2 ? data.subarray(0, int(data.length + 1)) : rnd() < 0.1 ? new Uint8Array(data.length + 1 + int(64)) : data;
        return npyBytes(randomHeader(int, rnd), body, pick([1, 1, 2, 3]));
      }
      case 5: { // the data cut or extended: the shape no longer matches the bytes
        const end = headerEnd(b);
        return rnd() < 0.5 ? b.subarray(0, end + int(Math.max(1, b.length - end))) : new Uint8Array(Buffer.concat([b, new Uint8Array(1 + int(40))]));
      }
      default: return scribble(b, int); // random bytes over a random range
    }
  };

  const run = new FuzzRun();
  for (let i = 0; i < CASES && run.failures.length < 5; i++) {
    let bytes: Uint8Array = pick(bases).slice();
    for (let m = rnd() < 0.2 ? 2 + int(2) : 1; m > 0; m--) bytes = mutate(bytes, int(7)).slice();
    const src = counting(bufferSource(`case-${i}.npy`, bytes));
    await run.check(i, bytes, src, () => i % 4 === 0 ? readTensorFile(src) : readNpy(src), { maxRequested: 3 * bytes.length + 16 });
  }
  t.diagnostic(run.summary());
  assert.deepEqual(run.failures, [], `seed ${SEED}`);
  assert.ok(run.succeeded > CASES / 20, `only ${run.succeeded} of ${CASES} cases read successfully`);
});
