/**
 * Fuzzes the HDF5 reader (superblock check, h5wasm in its worker, placement of contiguous datasets)
 * with mutations of h5py-written fixtures and engram-written files: truncation, bit flips (mostly
 * in the metadata: superblock, object headers, B-trees, heaps), huge lengths and addresses, wrong
 * counts (small increments of bytes, u16 and u32 fields), deeply nested groups, random bytes. Every
 * case must end in a typed EngramError or in a read that rebuilds the input exactly; none may
 * request more than a small multiple of the file's size. Seeded.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bufferSource, readHdf5, readTensorFile, writeHdf5 } from '../../src/formats/index.ts';
import { counting } from '../helpers/format-checks.ts';
import { FuzzRun, prng } from '../helpers/fuzz.ts';

const SEED = Number(process.env.HDF5_FUZZ_SEED ?? 0x4d5f);
const CASES = Number(process.env.HDF5_FUZZ_CASES ?? 5000);
const DIR = fileURLToPath(new URL('../fixtures/hdf5/', import.meta.url));

const HUGE = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000000, 0xfffffff0];

test(`HDF5 reader survives ${CASES} mutated files (seed ${SEED})`, async (t) => {
  const rnd = prng(SEED);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const deep = (depth: number): string => [...Array<string>(depth).fill('g'), 'w'].join('/');
  const bases = [
    new Uint8Array(await readFile(DIR + 'small_keras.h5')),
    new Uint8Array(await readFile(DIR + 'mixed.h5')),
    // engram-written (h5wasm, HDF5 2.0 layout): a Keras file and groups nested 20 and 40 deep (the
    // reader follows 32 levels).
    await writeHdf5([
      { name: 'd/d/kernel:0', dtype: 'F32', shape: [4, 3], data: new Uint8Array(48).map((_, i) => i) },
      { name: 'd/d/bias:0', dtype: 'I64', shape: [], data: new Uint8Array(8).fill(2) },
    ], { model_config: '{"a": 1}' }),
    await writeHdf5([{ name: deep(20), dtype: 'F64', shape: [2], data: new Uint8Array(16).fill(1) }]),
    await writeHdf5([{ name: deep(40), dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) }]),
  ];

  const mutate = (b: Uint8Array, kind: number): Uint8Array => {
    // HDF5 metadata sits mostly in the first few KB and around each object header; the data after.
    const at = (): number => (rnd() < 0.75 ? int(Math.min(b.length, 4096)) : int(b.length));
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    switch (kind) {
      case 0: return b.subarray(0, int(b.length));
      case 1: {
        for (let k = 1 + int(6); k > 0; k--) {
          const p = at();
          b[p]! ^= 1 << int(8);
        }
        return b;
      }
      case 2: { // a huge length, size or address (little-endian u32 or u64)
        const p = at() & ~3;
        if (p + 8 > b.length) return b;
        if (rnd() < 0.5) view.setUint32(p, pick(HUGE), true);
        else view.setBigUint64(p, rnd() < 0.5 ? 0xffffffffffffffffn : BigInt(pick(HUGE)) << BigInt(int(32)), true);
        return b;
      }
      case 3: { // a wrong count: a byte, u16 or u32 off by a little
        const p = at();
        const d = pick([-2, -1, 1, 2, 3, 7]);
        const w = pick([1, 2, 4]);
        if (p + w > b.length) return b;
        if (w === 1) b[p] = (b[p]! + d) & 0xff;
        else if (w === 2) view.setUint16(p, (view.getUint16(p, true) + d) & 0xffff, true);
        else view.setUint32(p, (view.getUint32(p, true) + d) >>> 0, true);
        return b;
      }
      case 4: { // a range copied over another (object headers and B-tree nodes in the wrong place)
        const from = int(b.length);
        const to = at();
        const n = Math.min(1 + int(64), b.length - from, b.length - to);
        b.copyWithin(to, from, from + n);
        return b;
      }
      default: { // random bytes over a random range
        const p = at();
        for (let k = p; k < Math.min(b.length, p + 1 + int(24)); k++) b[k] = int(256);
        return b;
      }
    }
  };

  const run = new FuzzRun();
  for (let i = 0; i < CASES && run.failures.length < 5; i++) {
    // Mostly the h5py files; the deep ones cost a walk of 32 groups each, so they come less often.
    const which = pick([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 4]);
    let bytes: Uint8Array = bases[which]!.slice();
    // A few unmutated reads, so correct reads are checked too.
    const m = rnd() < 0.02 ? 0 : rnd() < 0.2 ? 2 + int(2) : 1;
    for (let k = m; k > 0; k--) bytes = mutate(bytes, int(6));
    bytes = bytes.slice();
    const src = counting(bufferSource(`${DIR}case-${i}.h5`, bytes));
    // The whole file once for h5wasm, literal ranges and contiguous tensor loads at most once more
    // each, plus the dispatcher's peek.
    // libhdf5 loops on some mutated files, and only a time limit stops it there. The reader's
    // default limit is a minute (a valid file must not turn opaque on a busy machine); here a short
    // one keeps the run bounded, and giving up is a typed refusal the contract accepts either way.
    const hdf5 = { timeoutMs: 750 + Math.ceil(bytes.length / 5000) };
    await run.check(i, bytes, src, () => i % 4 === 0 ? readTensorFile(src, { hdf5 }) : readHdf5(src, hdf5), {
      maxRequested: 3 * bytes.length + 4096,
      relabel: (label) => label.replace(/HDF5 library refused the file: .*/, 'HDF5 library refused the file'),
    });
  }
  t.diagnostic(run.summary());
  assert.deepEqual(run.failures, [], `seed ${SEED}`);
  assert.ok(run.succeeded > CASES / 50, `only ${run.succeeded} of ${CASES} cases read successfully`);
});
