/**
 * Fuzzes the GGUF reader with mutations of the fixtures: truncation, bit flips, huge lengths,
 * counts, dimensions and offsets written into the header's own fields, wrong counts, deeply
 * nested arrays. Every case must end in a typed EngramError or in a read whose tensors lie inside
 * the file and which rebuilds the input exactly; none may request
 * more than a small multiple of the file's size. Seeded, so a failure names its case and reproduces.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bufferSource, readGguf, readTensorFile, writeGguf } from '../../src/formats/index.ts';
import { cat, header, str, u32, u64 } from './gguf-bytes.ts';
import { FuzzRun, prng, scribble } from '../helpers/fuzz.ts';
import { counting } from '../helpers/format-checks.ts';

const SEED = Number(process.env.GGUF_FUZZ_SEED ?? 0x5eed);
const CASES = Number(process.env.GGUF_FUZZ_CASES ?? 6000);
const DIR = fileURLToPath(new URL('../fixtures/gguf/', import.meta.url));


/** Offsets of a well-formed file's header fields, found by walking it (test-side, independently of the reader). */
interface Fields {
  readonly u64: number[]; // string lengths, array lengths, counts, dims, offsets
  readonly u32: number[]; // value types, item types, n_dims, ggml types
  readonly offsets: number[]; // tensor data offsets
  readonly headerEnd: number;
}

function fieldsOf(b: Uint8Array): Fields {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const f: Fields = { u64: [8, 16], u32: [4], offsets: [], headerEnd: 0 };
  let p = 24;
  const string = (): void => { f.u64.push(p); p += 8 + Number(v.getBigUint64(p, true)); };
  const WIDTH = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
  const value = (type: number): void => {
    if (type === 8) return string();
    if (type !== 9) { p += WIDTH[type]!; return; }
    f.u32.push(p);
    const item = v.getUint32(p, true);
    f.u64.push(p + 4);
    const n = Number(v.getBigUint64(p + 4, true));
    p += 12;
    for (let i = 0; i < n; i++) value(item);
  };
  const nTensors = Number(v.getBigUint64(8, true));
  const nKv = Number(v.getBigUint64(16, true));
  for (let i = 0; i < nKv; i++) {
    string();
    f.u32.push(p);
    const type = v.getUint32(p, true);
    p += 4;
    value(type);
  }
  for (let i = 0; i < nTensors; i++) {
    string();
    f.u32.push(p);
    const nDims = v.getUint32(p, true);
    p += 4;
    for (let d = 0; d < nDims; d++, p += 8) f.u64.push(p);
    f.u32.push(p);
    p += 4;
    f.u64.push(p);
    f.offsets.push(p);
    p += 8;
  }
  return { ...f, headerEnd: p };
}

/** A file with one key holding arrays nested `depth` deep around an array of `count` UINT8s. */
function nested(depth: number, count: number): Uint8Array {
  let v = cat(u32(0), u64(count), new Uint8Array(Math.min(count, 64)));
  for (let i = 0; i < depth; i++) v = cat(u32(9), u64(1), v);
  return header([cat(str('nested'), u32(9), v)], []);
}


const HUGE = [(1n << 64n) - 1n, 1n << 63n, (1n << 63n) - 1n, 1n << 62n, 1n << 53n, 1n << 32n, 0xffffffffn];

test(`GGUF reader survives ${CASES} mutated files (seed ${SEED})`, async (t) => {
  const bases: Uint8Array[] = [];
  for (const name of ['metadata.gguf', 'quantized.gguf', 'empty.gguf']) bases.push(new Uint8Array(await readFile(DIR + name)));
  // A header over the reader's 64 KiB window, so mutations also hit window refills.
  bases.push(writeGguf({
    metadata: [{ key: 'tokenizer.ggml.tokens', type: 'ARRAY', value: { itemType: 'STRING', items: Array.from({ length: 8000 }, (_, i) => `t${'é'.repeat(i % 7)}${i}`) } }],
    tensors: [{ name: 'w', type: 'Q4_0', shape: [2, 32], data: new Uint8Array(36).fill(3) }, { name: 'b', type: 'F16', shape: [3], data: new Uint8Array(6).fill(1) }],
  }));
  const fields = bases.map(fieldsOf);
  const rnd = prng(SEED);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const setU64 = (b: Uint8Array, at: number, x: bigint): void => {
    if (at + 8 <= b.length) new DataView(b.buffer, b.byteOffset).setBigUint64(at, BigInt.asUintN(64, x), true);
  };
  const getU64 = (b: Uint8Array, at: number): bigint => (at + 8 <= b.length ? new DataView(b.buffer, b.byteOffset).getBigUint64(at, true) : 0n);
  const setU32 = (b: Uint8Array, at: number, x: number): void => {
    if (at + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(at, x >>> 0, true);
  };

  const mutate = (b: Uint8Array, f: Fields, kind: number): Uint8Array => {
    switch (kind) {
      case 0: return b.subarray(0, int(b.length));
      case 1: { // bit flips, mostly in the header
        for (let k = 1 + int(8); k > 0; k--) {
          const at = rnd() < 0.7 ? int(f.headerEnd) : int(b.length);
          b[at]! ^= 1 << int(8);
        }
        return b;
      }
      case 2: { // a huge or off-by-some value in a length, count, dimension or offset
        const at = pick(f.u64);
        const old = getU64(b, at);
        setU64(b, at, rnd() < 0.5 ? pick(HUGE) : old + BigInt(int(9) - 4) + (rnd() < 0.3 ? BigInt(b.length) : 0n));
        return b;
      }
      case 3: setU32(b, pick(f.u32), pick([int(16), 9, 13, 99, 5, 0xffffffff, 31, 40])); return b;
      case 4: { // wrong tensor or metadata count
        const at = pick([8, 16]);
        setU64(b, at, getU64(b, at) + BigInt(int(7) - 3));
        return b;
      }
      case 5: { // a tensor offset past the end, misaligned or onto another tensor
        if (f.offsets.length === 0) return mutate(b, f, 2);
        setU64(b, pick(f.offsets), pick([BigInt(b.length), BigInt(b.length + 32 * int(4)), BigInt(32 * int(8)), BigInt(int(100)), (1n << 64n) - 32n]));
        return b;
      }
      case 6: return nested(int(40), pick([0, 1, 3, 1 << 20, Number.MAX_SAFE_INTEGER]));
      default: return scribble(b, int); // random bytes over a random range
    }
  };

  const run = new FuzzRun();
  for (let i = 0; i < CASES && run.failures.length < 5; i++) {
    const which = rnd() < 0.05 ? 3 : int(3);
    let bytes: Uint8Array = bases[which]!.slice();
    for (let m = rnd() < 0.2 ? 2 + int(2) : 1; m > 0; m--) bytes = mutate(bytes, fields[which]!, int(8));
    bytes = bytes.slice(); // own buffer, so byteOffset is 0 for DataViews above
    const src = counting(bufferSource(`case-${i}.gguf`, bytes));
    const useDispatch = i % 4 === 0;
    // Header pass + literal ranges + tensor loads (+ the dispatcher's 8-byte peek): each at most the file once.
    await run.check(i, bytes, src, () => useDispatch ? readTensorFile(src) : readGguf(src), {
      maxRequested: 3 * bytes.length + 8,
      inspect: (file) => {
        if (!('gguf' in file)) return [];
        const { dataOffset, tensors } = (file as Awaited<ReturnType<typeof readGguf>>).gguf;
        return tensors.filter((t) => dataOffset + t.offset + t.byteLength > bytes.length).map((t) => `tensor ${t.name} outside the file`);
      },
    });
  }
  t.diagnostic(run.summary());
  assert.deepEqual(run.failures, [], `seed ${SEED}`);
  // The mutations must not all be trivially fatal: some files still read.
  assert.ok(run.succeeded > CASES / 50, `only ${run.succeeded} of ${CASES} cases read successfully`);
});
