/**
 * ONNX weights held in Constant nodes, in the main graph and inside If subgraphs (nested), as
 * test/fixtures/onnx-constants/make-constants.py builds them with the onnx helper API: engram reads
 * each Constant `value` as a tensor named by its node's output, rebuilds the file byte for byte,
 * saves and restores it exactly (onnxruntime runs the restored model to the outputs numpy computed),
 * and `convert` writes its tensors.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { bufferSource, openFileSource, readOnnx, readSafetensors, readTensorFile, rebuildFile } from '../../src/formats/index.ts';
import { FIXTURES, hashTree, runCli, tempDir } from '../helpers/cli.ts';
import { sha } from '../helpers/format-checks.ts';

const DIR = join(FIXTURES, 'onnx-constants');
const MODEL = join(DIR, 'constants.onnx');
interface Expected {
  tensors: { name: string; dtype: string; shape: number[]; sha256: string }[];
  x: number[];
  outputs: Record<'then' | 'else_then' | 'else_else', number[]>;
  same_names: { name: string; sha256: string }[];
}
const EXPECTED = JSON.parse(await readFile(join(DIR, 'EXPECTED.json'), 'utf8')) as Expected;
const DTYPES: Record<string, string> = { float32: 'F32', int64: 'I64' };
const NAMES = EXPECTED.tensors.map((t) => t.name).sort();

async function run(path: string, cond: boolean, cond2: boolean): Promise<number[]> {
  const session = await ort.InferenceSession.create(path);
  try {
    const out = await session.run({
      x: new ort.Tensor('float32', Float32Array.from(EXPECTED.x), [2, 3]),
      cond: new ort.Tensor('bool', [cond], []), cond2: new ort.Tensor('bool', [cond2], []),
    });
    return [...(out.y!.data as Float32Array)];
  } finally {
    await session.release();
  }
}

function assertClose(got: number[], want: number[], what: string): void {
  assert.equal(got.length, want.length, what);
  for (const [i, w] of want.entries()) assert.ok(Math.abs(got[i]! - w) <= 1e-5 * Math.max(1, Math.abs(w)), `${what}[${i}]: ${got[i]} vs ${w}`);
}

describe('ONNX Constant nodes, in subgraphs too', () => {
  test('every Constant value (main graph, If branches, a nested If) and the initializer are tensors; the file rebuilds exactly', async () => {
    const bytes = new Uint8Array(await readFile(MODEL));
    const file = await readTensorFile(bufferSource('constants.onnx', bytes));
    assert.equal(file.format, 'onnx');
    assert.deepEqual(file.tensors.map((t) => t.name).sort(), NAMES);
    const loaded = new Map(await Promise.all(file.tensors.map(async (t) => [t.name, await t.load()] as const)));
    for (const want of EXPECTED.tensors) {
      const t = file.tensors.find((x) => x.name === want.name)!;
      assert.equal(t.dtype, DTYPES[want.dtype], want.name);
      assert.deepEqual([...t.shape], want.shape, want.name);
      assert.equal(sha(loaded.get(want.name)!), want.sha256, want.name);
    }
    assert.equal(sha(rebuildFile(file, (n) => loaded.get(n)!)), sha(bytes));
    // raw_data Constants are segments of the file (they deduplicate); float_data/int64_data ones stay literal.
    const segs = new Set(file.segments.flatMap((s) => (s.kind === 'tensor' ? [s.tensor] : [])));
    assert.deepEqual([...segs].sort(), ['E2', 'T', 'W', 'scale']);
    // value_float / value_ints Constants (`two`, `shape`) are literal bytes, not tensors; names are stable.
    const again = await readOnnx(bufferSource('constants.onnx', bytes));
    assert.deepEqual(again.tensors.map((t) => t.name), file.tensors.map((t) => t.name));
    assert.equal(again.origin.scale, 'initializer');
    assert.equal(again.origin.T, 'constant');
  });

  test('two branches reusing a Constant output name get unique names in file order; a STRING Constant stays literal', async () => {
    const bytes = new Uint8Array(await readFile(join(DIR, 'same-names.onnx')));
    const file = await readTensorFile(bufferSource('same-names.onnx', bytes));
    assert.equal(file.format, 'onnx');
    const loaded = new Map(await Promise.all(file.tensors.map(async (t) => [t.name, await t.load()] as const)));
    assert.deepEqual([...loaded].map(([name, b]) => ({ name, sha256: sha(b) })), EXPECTED.same_names);
    assert.equal(sha(rebuildFile(file, (n) => loaded.get(n)!)), sha(bytes));
  });

  test('a typed-field value the dtype cannot hold (300 in an INT8) is a FormatError, not wrapped to 44', async () => {
    const bytes = new Uint8Array(await readFile(join(DIR, 'int8-out-of-range.onnx')));
    await assert.rejects(readTensorFile(bufferSource('int8-out-of-range.onnx', bytes)), (e: Error & { code?: string }) => e.code === 'FormatError' && /300/.test(e.message));
  });

  test('engram save → show → restore: the tensors are listed and the restored model runs in onnxruntime', async () => {
    const work = await tempDir();
    const repo = join(work, 'repo');
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    const save = await runCli(['save', MODEL, '--repo', repo, '--run', 'c', '--step', '1', '--json']);
    assert.equal(save.code, 0, save.stderr);
    assert.equal((JSON.parse(save.stdout) as { tensors: number }).tensors, NAMES.length);
    const show = JSON.parse((await runCli(['show', 'c@1', '--repo', repo, '--json'])).stdout) as { tensors: Record<string, unknown>; files: { format: string }[] };
    assert.deepEqual(Object.keys(show.tensors).sort(), NAMES.map((n) => `constants.onnx:${n}`).sort());
    assert.equal(show.files[0]!.format, 'onnx');
    const out = join(work, 'restored');
    assert.equal((await runCli(['restore', 'c@1', out, '--repo', repo])).code, 0);
    assert.equal((await hashTree(out)).get('constants.onnx'), sha(new Uint8Array(await readFile(MODEL))));
    const restored = join(out, 'constants.onnx');
    assertClose(await run(restored, true, false), EXPECTED.outputs.then, 'then');
    assertClose(await run(restored, false, true), EXPECTED.outputs.else_then, 'else/then');
    assertClose(await run(restored, false, false), EXPECTED.outputs.else_else, 'else/else');
  });

  test('convert writes the Constant tensors; an export into the template refuses Constants with a typed error', async () => {
    const work = await tempDir();
    const st = join(work, 'c.safetensors');
    const res = await runCli(['convert', MODEL, st, '--json']);
    assert.equal(res.code, 0, res.stderr);
    const src = await openFileSource(st);
    try {
      const file = await readSafetensors(src);
      assert.deepEqual(file.tensors.map((t) => t.name).sort(), NAMES);
      for (const want of EXPECTED.tensors) assert.equal(sha(await file.tensors.find((t) => t.name === want.name)!.load()), want.sha256, want.name);
    } finally {
      await src.close();
    }
    const bad = await runCli(['convert', st, join(work, 'out.onnx'), '--template', MODEL]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Constant/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });
});
