/**
 * Seeded random checkpoint objects — nested dicts (str and int keys, plain and ordered), lists and
 * tuples of every length class (incl. the 1000-item batch edges), ints from 0 to 2^100, floats with
 * NaN/±inf/−0, unicode strings, bytes, tensors of every dtype, tied tensors — are written by the
 * pickler and read back by engram's restricted unpickler (an independent implementation): the
 * object's JSON and every tensor come back as written.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bufferSource, readPytorch, type TensorFileInput } from '../../src/formats/index.ts';
import { writePytorch } from '../../src/formats/pytorch/write-pytorch.ts';
import type { TorchObject } from '../../src/formats/pytorch/write-pytorch-pickle.ts';
import type { DType } from '../../src/tensor/index.ts';
import { sha } from '../helpers/format-checks.ts';
import { prng } from '../helpers/fuzz.ts';

const SEED = Number(process.env.PT_WRITE_FUZZ_SEED ?? 0x7e57);
const CASES = Number(process.env.PT_WRITE_FUZZ_CASES ?? 600);
const DTYPES: readonly [DType, number][] = [['F64', 8], ['F32', 4], ['F16', 2], ['BF16', 2], ['I64', 8], ['I32', 4], ['I16', 2], ['I8', 1], ['U8', 1], ['BOOL', 1]];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

test(`${CASES} random checkpoint objects round-trip through engram's unpickler (seed ${SEED})`, async () => {
  const rnd = prng(SEED);
  const int = (n: number): number => Math.floor(rnd() * n);
  for (let c = 0; c < CASES; c++) {
    const tensors: TensorFileInput[] = [];
    let nodes = 0;
    // Builds a value and what the reader's JSON (metadata 'pytorch:object') should say about it.
    const gen = (depth: number, path: string): [TorchObject, Json] => {
      nodes++;
      const child = (k: string): string => (path === '' ? k : `${path}.${k}`);
      const leaf = depth > 4 || nodes > 400 || rnd() < 0.45;
      if (leaf) {
        switch (int(10)) {
          case 0: return [null, null];
          case 1: { const b = rnd() < 0.5; return [b, b]; }
          case 2: { const n = [0, 1, 255, 256, 65535, 65536, 2 ** 31 - 1, -1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1][int(12)]!; return [n, n]; }
          case 3: { const big = (rnd() < 0.5 ? -1n : 1n) * (2n ** BigInt(54 + int(50)) + BigInt(int(1000))); return [big, { $int: big.toString() }]; }
          case 4: {
            const f = [0.5, -1.25e-300, 1e300, Math.PI][int(4)]!;
            return [f, f];
          }
          case 5: {
            const k = (['nan', 'inf', '-inf'] as const)[int(3)];
            return [{ $float: k }, { $float: k }];
          }
          case 6: { const s = ['', 'a', 'ünïcödé ✓', 'x'.repeat(300), '\u{1F600}'][int(5)]!; return [s, s]; }
          case 7: {
            const b = Uint8Array.from({ length: int(40) }, () => int(256));
            return [b, { $bytes: Buffer.from(b).toString('base64') }];
          }
          default: {
            if (tensors.length > 0 && rnd() < 0.2) {
              // A tensor named again: the same Python object, which the reader lists under each path.
              const t = tensors[int(tensors.length)]!;
              return [{ $tensor: t.name }, { $tensor: path }];
            }
            const [dtype, size] = DTYPES[int(DTYPES.length)]!;
            const shape = Array.from({ length: int(4) }, () => int(4));
            const n = shape.reduce((a, d) => a * d, 1);
            const data = Uint8Array.from({ length: n * size }, () => (dtype === 'BOOL' ? int(2) : int(256)));
            const name = `t${tensors.length}`;
            tensors.push(Object.assign({ name, dtype, shape, data }, { path }));
            return [{ $tensor: name }, { $tensor: path }];
          }
        }
      }
      // Lengths around the pickler's batch edges now and then.
      const len = rnd() < 0.03 ? [999, 1000, 1001, 2000][int(4)]! : int(6);
      switch (int(4)) {
        case 0: {
          const items = Array.from({ length: len }, (_, i) => gen(depth + 1, child(String(i))));
          return [items.map((x) => x[0]), items.map((x) => x[1])];
        }
        case 1: {
          const items = Array.from({ length: Math.min(len, 8) }, (_, i) => gen(depth + 1, child(String(i))));
          return [{ $tuple: items.map((x) => x[0]) }, items.map((x) => x[1])];
        }
        case 2: {
          const o: { [k: string]: TorchObject } = {};
          const j: { [k: string]: Json } = {};
          for (let i = 0; i < len; i++) {
            const k = `k${i}.${int(3) === 0 ? 'ü' : ''}`;
            const [v, vj] = gen(depth + 1, child(k));
            o[k] = v;
            j[k] = vj;
          }
          return [o, j];
        }
        default: {
          const entries: [TorchObject, TorchObject][] = [];
          const j: { [k: string]: Json } = {};
          for (let i = 0; i < len; i++) {
            const [v, vj] = gen(depth + 1, child(String(i)));
            entries.push([i, v]);
            j[String(i)] = vj;
          }
          return [{ $dict: entries, ordered: rnd() < 0.5 }, j];
        }
      }
    };
    // The top level is a dict, as every checkpoint is.
    const root: { [k: string]: TorchObject } = {};
    const want: { [k: string]: Json } = {};
    for (let i = 1 + int(4); i > 0; i--) [root[`r${i}`], want[`r${i}`]] = gen(1, `r${i}`);
    const bytes = writePytorch(tensors, { object: root });
    const file = await readPytorch(bufferSource(`case-${c}.pt`, bytes));
    assert.deepEqual(JSON.parse(file.metadata!['pytorch:object']!), want, `case ${c}`);
    const byPath = new Map(file.tensors.map((t) => [t.name, t]));
    for (const t of tensors as (TensorFileInput & { path: string })[]) {
      const got = byPath.get(t.path);
      assert.ok(got, `case ${c}: tensor at ${t.path} missing`);
      assert.equal(got.dtype, t.dtype);
      assert.deepEqual([...got.shape], t.shape);
      assert.equal(sha(await got.load()), sha(t.data), `case ${c}: ${t.path}`);
    }
  }
});
