/**
 * Fuzzes the ONNX reader with mutations of the fixtures: truncation, bit flips, huge or off-by-some
 * length varints, over-long varints, broken field keys (groups, unknown wire types), deeply nested
 * messages. Every case must end in a typed EngramError or in a read that rebuilds the input exactly;
 * none may request more than a small multiple of the file's size. Seeded.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EngramError } from '../../src/errors/index.ts';
import { bufferSource, type ByteSource, readOnnx, readTensorFile } from '../../src/formats/index.ts';
import { FuzzRun, onnxVarints, type PlacedVarint, prng, scribble, varint } from '../helpers/fuzz.ts';
import { counting } from '../helpers/format-checks.ts';

const SEED = Number(process.env.ONNX_FUZZ_SEED ?? 0x0e1e);
const CASES = Number(process.env.ONNX_FUZZ_CASES ?? 5000);
const DIR = fileURLToPath(new URL('../fixtures/onnx/', import.meta.url));



type Varint = PlacedVarint;

/** The field keys and the length prefixes of ModelProto, graph and initializers. */
function fieldsOf(b: Uint8Array): { keys: Varint[]; lengths: Varint[] } {
  const all = onnxVarints(b);
  return { keys: all.filter((v) => !v.length), lengths: all.filter((v) => v.length) };
}


const HUGE = [(1n << 64n) - 1n, 1n << 63n, 1n << 62n, 1n << 53n, 1n << 32n, 0xffffffffn, 0x7fffffffn];

test(`ONNX reader survives ${CASES} mutated files (seed ${SEED})`, async (t) => {
  const bases = [new Uint8Array(await readFile(DIR + 'cnn.onnx')), new Uint8Array(await readFile(DIR + 'cnn_external.onnx'))];
  const data = new Uint8Array(await readFile(DIR + 'cnn_external.onnx.data'));
  const openExternal = async (loc: string): Promise<ByteSource> => {
    if (loc !== 'cnn_external.onnx.data') throw new EngramError('NotFound', `no ${loc}`, { path: loc });
    return bufferSource(loc, data);
  };
  const fields = bases.map(fieldsOf);
  const rnd = prng(SEED);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const splice = (b: Uint8Array, v: Varint, repl: number[]): Uint8Array => {
    if (v.at + v.size > b.length) return b;
    const out = new Uint8Array(b.length - v.size + repl.length);
    out.set(b.subarray(0, v.at));
    out.set(repl, v.at);
    out.set(b.subarray(v.at + v.size), v.at + repl.length);
    return out;
  };
  const nested = (depth: number): Uint8Array => {
    let inner: number[] = [...varint(BigInt((8 << 3) | 2)), 1, 0x41];
    for (let i = 0; i < depth; i++) inner = [...varint(BigInt((pick([7, 5, 13, 3, 8]) << 3) | 2)), ...varint(BigInt(inner.length)), ...inner];
    return new Uint8Array(inner);
  };

  const mutate = (b: Uint8Array, f: ReturnType<typeof fieldsOf>, kind: number): Uint8Array => {
    switch (kind) {
      case 0: return b.subarray(0, int(b.length));
      case 1: { // bit flips, mostly in the protobuf structure rather than inside raw_data
        for (let k = 1 + int(8); k > 0; k--) {
          const at = rnd() < 0.7 ? pick(f.keys.concat(f.lengths)).at + int(2) : int(b.length);
          if (at < b.length) b[at]! ^= 1 << int(8);
        }
        return b;
      }
      case 2: { // a huge or off-by-some length
        const v = pick(f.lengths);
        return splice(b, v, varint(rnd() < 0.5 ? pick(HUGE) : v.value + BigInt(int(9) - 4)));
      }
      case 3: { // an over-long varint (11 bytes, or 10 with bits past 64) where a length is
        const v = pick(f.lengths);
        return splice(b, v, rnd() < 0.5 ? [...Array<number>(10).fill(0xff), 1] : [...Array<number>(9).fill(0xff), 0x7f]);
      }
      case 4: { // a field key with another wire type (groups 3/4, invalid 6/7) or field number 0
        const v = pick(f.keys);
        const field = rnd() < 0.1 ? 0n : v.value >> 3n;
        return splice(b, v, varint((field << 3n) | BigInt(int(8))));
      }
      case 5: return rnd() < 0.5 ? nested(int(3000)) : new Uint8Array([...b, ...nested(int(200))]);
      default: return scribble(b, int); // random bytes over a random range
    }
  };

  const run = new FuzzRun();
  for (let i = 0; i < CASES && run.failures.length < 5; i++) {
    const which = rnd() < 0.7 ? 0 : 1;
    let bytes: Uint8Array = bases[which]!.slice();
    for (let m = rnd() < 0.2 ? 2 + int(2) : 1; m > 0; m--) bytes = mutate(bytes, fields[which]!, int(7));
    bytes = bytes.slice();
    const src = counting(bufferSource(`${DIR}case-${i}.onnx`, bytes));
    // Protobuf walk (forward-only windows) + literal ranges + tensor loads: each at most the file once,
    // plus the dispatcher's small peeks.
    await run.check(i, bytes, src, () => i % 4 === 0 ? readTensorFile(src) : readOnnx(src, { openExternal }), { maxRequested: 3 * bytes.length + 4096 });
  }
  t.diagnostic(run.summary());
  assert.deepEqual(run.failures, [], `seed ${SEED}`);
  assert.ok(run.succeeded > CASES / 50, `only ${run.succeeded} of ${CASES} cases read successfully`);
});
