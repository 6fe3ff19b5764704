/**
 * Fuzzes the ONNX writer's template side: mutated templates (truncation, bit flips, huge or
 * off-by-some lengths, broken keys, deep nesting) with a new `fc.bias` written into them. Every
 * case ends in a typed error or in a model that engram reads back with the new bias and every
 * other initializer as the template had it; none reads more than a small
 * multiple of the template. Seeded.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EngramError, isEngramError } from '../../src/errors/index.ts';
import { bufferSource, readOnnx, type ByteSource } from '../../src/formats/index.ts';
import { concatBytes } from '../../src/formats/onnx/protobuf-writer.ts';
import { planOnnxWrite } from '../../src/formats/onnx/write-onnx.ts';
import { counting, sha } from '../helpers/format-checks.ts';
import { onnxVarints, prng, refusalLabel, varint } from '../helpers/fuzz.ts';

const SEED = Number(process.env.ONNX_WRITE_FUZZ_SEED ?? 0x0e2e);
const CASES = Number(process.env.ONNX_WRITE_FUZZ_CASES ?? 5000);
const DIR = fileURLToPath(new URL('../fixtures/onnx/', import.meta.url));
const HUGE = [(1n << 64n) - 1n, 1n << 63n, 1n << 53n, 1n << 32n, 0xffffffffn, 0x7fffffffn];

test(`ONNX writer survives ${CASES} mutated templates (seed ${SEED})`, async (t) => {
  const bases = [new Uint8Array(await readFile(DIR + 'cnn.onnx')), new Uint8Array(await readFile(DIR + 'cnn_external.onnx'))];
  const data = new Uint8Array(await readFile(DIR + 'cnn_external.onnx.data'));
  const written = new Map<string, Uint8Array>();
  const openExternal = async (loc: string): Promise<ByteSource> => {
    const bytes = loc === 'cnn_external.onnx.data' ? data : written.get(loc);
    if (!bytes) throw new EngramError('NotFound', `no ${loc}`, { path: loc });
    return bufferSource(loc, bytes);
  };
  const fields = bases.map(onnxVarints);
  const rnd = prng(SEED);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const splice = (b: Uint8Array, at: number, size: number, repl: number[]): Uint8Array =>
    concatBytes([b.subarray(0, at), Uint8Array.from(repl), b.subarray(Math.min(b.length, at + size))]);
  const mutate = (b: Uint8Array, vs: ReturnType<typeof onnxVarints>): Uint8Array => {
    const lengths = vs.filter((v) => v.length);
    switch (int(6)) {
      case 0: return b.subarray(0, int(b.length));
      case 1:
        for (let k = 1 + int(8); k > 0; k--) {
          const at = rnd() < 0.7 ? pick(vs).at + int(2) : int(b.length);
          if (at < b.length) b[at]! ^= 1 << int(8);
        }
        return b;
      case 2: {
        const v = pick(lengths);
        return splice(b, v.at, v.size, varint(rnd() < 0.5 ? pick(HUGE) : v.value + BigInt(int(9) - 4)));
      }
      case 3: {
        const v = pick(vs.filter((x) => !x.length));
        return splice(b, v.at, v.size, varint(((rnd() < 0.1 ? 0n : v.value >> 3n) << 3n) | BigInt(int(8))));
      }
      case 4: { // deep nesting appended at the top level
        let inner: number[] = [0x42, 1, 0x41];
        for (let i = int(2000); i > 0; i--) inner = [...varint(BigInt((pick([7, 5, 13]) << 3) | 2)), ...varint(BigInt(inner.length)), ...inner];
        return concatBytes([b, Uint8Array.from(inner)]);
      }
      default: {
        const at = int(b.length);
        for (let k = at; k < Math.min(b.length, at + 1 + int(16)); k++) b[k] = int(256);
        return b;
      }
    }
  };

  const bias = new Uint8Array(40).map((_, i) => (i * 7 + 1) & 0xff);
  const failures: string[] = [];
  const outcomes = new Map<string, number>();
  const tally = (k: string): void => void outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  for (let i = 0; i < CASES && failures.length < 5; i++) {
    const which = rnd() < 0.6 ? 0 : 1;
    let bytes: Uint8Array = bases[which]!.slice();
    for (let m = rnd() < 0.2 ? 2 : 1; m > 0; m--) bytes = mutate(bytes, fields[which]!);
    bytes = bytes.slice();
    const src = counting(bufferSource(`${DIR}case-${i}.onnx`, bytes));
    const location = `out-${i}.data`;
    const work = (async () => {
      const plan = await planOnnxWrite(src, new Map([['fc.bias', { dtype: 'F32', shape: [10], data: bias }]]), {
        openExternal, ...(rnd() < 0.5 ? { externalData: true, dataLocation: location } : { externalData: false }),
      });
      const model: Uint8Array[] = [];
      for await (const p of plan.model()) model.push(p);
      const out: Uint8Array[] = [];
      for await (const p of plan.data()) out.push(p);
      if (plan.dataLocation) written.set(plan.dataLocation, concatBytes(out));
      return concatBytes(model);
    })();
    try {
      // No clock (see FuzzRun): the bound is on bytes requested, checked below.
      const model = await work;
      // The template read fine: the output must read too, with the new bias and the old rest.
      const before = await readOnnx(bufferSource(src.name, bytes), { openExternal });
      const after = await readOnnx(bufferSource('out.onnx', model), { openExternal });
      const digest = async (f: typeof before): Promise<string[]> => Promise.all(f.tensors.map(async (x) => `${x.name} ${x.dtype} [${x.shape}] ${sha(await x.load())}`));
      const want = (await digest(before)).map((l) => (l.startsWith('fc.bias ') ? `fc.bias F32 [10] ${sha(bias)}` : l));
      assert.deepEqual(await digest(after), want, `case ${i}`);
      tally('written');
    } catch (e) {
      const label = refusalLabel(e) ?? (isEngramError(e, 'NotFound') || isEngramError(e, 'InvalidArgument') ? `${e.code}: fc.bias renamed or reshaped` : undefined);
      if (label === undefined) failures.push(`case ${i}: ${e instanceof Error ? e.stack : String(e)}`);
      else tally(label);
    } finally {
      written.delete(location);
    }
    // readOnnx's walk, the writer's walk and the copy: each at most about the file once.
    if (src.requested > 4 * bytes.length + 256 * 1024) failures.push(`case ${i}: requested ${src.requested} bytes of a ${bytes.length}-byte template`);
  }
  for (const [k, n] of [...outcomes].sort((a, b) => b[1] - a[1])) t.diagnostic(`${n}\t${k}`);
  assert.deepEqual(failures, []);
  assert.ok((outcomes.get('written') ?? 0) > CASES / 20, 'too few templates survived mutation to exercise the writing path');
});
