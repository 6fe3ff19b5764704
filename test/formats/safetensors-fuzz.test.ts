/**
 * Fuzzes the safetensors reader with mutations of the fixtures and of engram-written files:
 * truncation, bit flips, huge or off-by-some header lengths, rewritten JSON headers (data_offsets
 * huge, negative, swapped, overlapping or past the end; shapes huge, negative, fractional or not
 * matching their bytes; unknown dtypes; deeply nested and non-string metadata; tensors dropped or
 * doubled). Every case must end in a typed EngramError or in a read that rebuilds the input
 * exactly; none may request more than a small multiple of the file's size. Seeded.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bufferSource, readSafetensors, readTensorFile, writeSafetensors } from '../../src/formats/index.ts';
import { FuzzRun, prng, scribble } from '../helpers/fuzz.ts';
import { counting } from '../helpers/format-checks.ts';

const SEED = Number(process.env.SAFETENSORS_FUZZ_SEED ?? 0x5afe);
const CASES = Number(process.env.SAFETENSORS_FUZZ_CASES ?? 6000);
const DIR = fileURLToPath(new URL('../fixtures/safetensors/', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A safetensors file from a header object and a data area (the length prefix always right, unless mutated later). */
function withHeader(header: Json | string, data: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

function split(b: Uint8Array): { header: Record<string, Json>; data: Uint8Array } {
  const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n))) as Record<string, Json>, data: b.subarray(8 + n) };
}

const HUGE = [2 ** 53, 2 ** 53 + 2, 2 ** 64, -1, -(2 ** 31), 1e300, 0.5, 2 ** 32, 2 ** 31 - 1];
const DTYPES = ['F32', 'F16', 'BF16', 'I64', 'U8', 'BOOL', 'F8_E4M3', 'Q4_K', 'f32', '', 'C64', 'F128'];

test(`safetensors reader survives ${CASES} mutated files (seed ${SEED})`, async (t) => {
  const bases: Uint8Array[] = [];
  for (const name of (await readdir(DIR)).filter((n) => n.endsWith('.safetensors')).sort()) {
    const b = new Uint8Array(await readFile(DIR + name));
    if (b.length <= 1 << 20) bases.push(b);
  }
  bases.push(writeSafetensors([
    { name: 'a', dtype: 'F32', shape: [4, 4], data: new Uint8Array(64).map((_, i) => i) },
    { name: 'b', dtype: 'I8', shape: [3], data: Uint8Array.from([1, 2, 3]) },
    { name: 'c', dtype: 'BF16', shape: [0, 2], data: new Uint8Array(0) },
  ], { note: 'x' }));
  const parsed = bases.map(split);
  const rnd = prng(SEED);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

  /** A rewritten header: one tensor entry changed in one field, or entries dropped, doubled, nested. */
  const rewrite = (which: number): Uint8Array => {
    const { header, data } = parsed[which]!;
    const h = structuredClone(header);
    const names = Object.keys(h).filter((k) => k !== '__metadata__');
    const name = names.length > 0 ? pick(names) : 'x';
    const entry = (h[name] ?? { dtype: 'F32', shape: [1], data_offsets: [0, 4] }) as { [k: string]: Json };
    switch (int(9)) {
      case 0: entry.data_offsets = [pick(HUGE), pick(HUGE)]; break;
      case 1: { // off by some, swapped, or onto another tensor
        const [b, e] = (entry.data_offsets as number[] | undefined) ?? [0, 0];
        entry.data_offsets = pick([[e, b], [b + int(9) - 4, e], [b, e + int(9) - 4], [0, e - b], [b, data.length + int(16)], [b]]) as Json;
        break;
      }
      case 2: entry.shape = pick([[pick(HUGE)], [2 ** 40, 2 ** 40], [-1, 4], [1.5], ['3'], [], [0], null, 7, [2 ** 26, 2 ** 26, 2 ** 26]]) as Json; break;
      case 3: entry.dtype = pick(DTYPES); break;
      case 4: { // deeply nested or non-string metadata
        let v: Json = 'x';
        for (let d = int(4000); d > 0; d--) v = [v];
        h.__metadata__ = pick([{ k: v }, { k: 3 }, v, null, { k: 'ok' }, 'str']) as Json;
        break;
      }
      case 5: delete h[name]; break;
      case 6: h[`${name}_copy`] = structuredClone(entry); break;
      case 7: h[name] = pick([null, 3, 'F32', [], { dtype: 'F32' }]) as Json; break;
      default: return withHeader(JSON.stringify(h).slice(0, int(JSON.stringify(h).length)), data);
    }
    if (h[name] !== undefined && typeof h[name] === 'object' && h[name] !== null && !Array.isArray(h[name])) h[name] = entry;
    return withHeader(h, data);
  };

  const mutate = (b: Uint8Array, which: number, kind: number): Uint8Array => {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    switch (kind) {
      case 0: return b.subarray(0, int(b.length));
      case 1: { // bit flips, mostly in the length prefix and the JSON
        const n = b.length >= 8 ? Number(v.getBigUint64(0, true)) : 0;
        for (let k = 1 + int(6); k > 0; k--) {
          const at = rnd() < 0.8 ? int(Math.min(b.length, 8 + n)) : int(b.length);
          b[at]! ^= 1 << int(8);
        }
        return b;
      }
      case 2: { // a huge or off-by-some header length
        if (b.length < 8) return b;
        const n = v.getBigUint64(0, true);
        v.setBigUint64(0, rnd() < 0.5 ? pick([(1n << 64n) - 1n, 1n << 63n, 100_000_001n, BigInt(b.length), 0n, 1n]) : BigInt.asUintN(64, n + BigInt(int(9) - 4)), true);
        return b;
      }
      case 3: case 4: case 5: return rewrite(which);
      case 6: return new Uint8Array(Buffer.concat([b, new Uint8Array(1 + int(64)).fill(int(256))])); // trailing bytes
      default: return scribble(b, int); // random bytes over a random range
    }
  };

  const run = new FuzzRun();
  for (let i = 0; i < CASES && run.failures.length < 5; i++) {
    const which = int(bases.length);
    let bytes: Uint8Array = bases[which]!.slice();
    for (let m = rnd() < 0.2 ? 2 + int(2) : 1; m > 0; m--) bytes = mutate(bytes, which, int(8)).slice();
    const src = counting(bufferSource(`case-${i}.safetensors`, bytes));
    await run.check(i, bytes, src, () => i % 4 === 0 ? readTensorFile(src) : readSafetensors(src), { maxRequested: 3 * bytes.length + 16 });
  }
  t.diagnostic(run.summary());
  assert.deepEqual(run.failures, [], `seed ${SEED}`);
  assert.ok(run.succeeded > CASES / 20, `only ${run.succeeded} of ${CASES} cases read successfully`);
});
