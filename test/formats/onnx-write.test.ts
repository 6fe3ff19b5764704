/**
 * The ONNX writer against the reference implementations: every model it writes passes
 * `onnx.checker.check_model` (Debian's python3-onnx) and runs in onnxruntime-node with the outputs
 * the weights imply — identical for the same weights, shifted by exactly the new bias for a new one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { isEngramError } from '../../src/errors/index.ts';
import { bufferSource, openFileSource, readOnnx } from '../../src/formats/index.ts';
import { bytesField, concatBytes, lengthHeader, varintField } from '../../src/formats/onnx/protobuf-writer.ts';
import { planOnnxWrite, writeOnnx, type OnnxTensorInput } from '../../src/formats/onnx/write-onnx.ts';
import { FIXTURES, tempDir } from '../helpers/cli.ts';
import { counting, sha } from '../helpers/format-checks.ts';
import { prng } from '../helpers/fuzz.ts';

const DIR = join(FIXTURES, 'onnx');
const PYTHON = '/usr/bin/python3';
const CHECK = new URL('../../scripts/onnx-check.py', import.meta.url).pathname;

interface Checked {
  initializers: Record<string, { data_type: number; dims: number[]; sha256: string; external: boolean }>;
}

/** Runs the reference checker; fails loudly (with the install hint) when python3-onnx is missing. */
function onnxCheck(path: string): Checked {
  const r = spawnSync(PYTHON, [CHECK, path], { encoding: 'utf8' });
  assert.equal(r.status, 0, `onnx.checker refused ${path} (python3-onnx is needed: apt-get install -y --no-install-recommends python3-onnx):\n${r.stderr}`);
  return JSON.parse(r.stdout) as Checked;
}

/** A fixed input image batch for the CNN. */
const INPUT = (() => {
  const r = prng(1234);
  return Float32Array.from({ length: 2 * 3 * 32 * 32 }, () => r() * 2 - 1);
})();

async function run(path: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', INPUT, [2, 3, 32, 32]) });
    return out.logits!.data as Float32Array;
  } finally {
    await session.release();
  }
}

async function initializers(path: string): Promise<Map<string, { dtype: OnnxTensorInput['dtype']; shape: number[]; data: Uint8Array }>> {
  const src = await openFileSource(path);
  try {
    const file = await readOnnx(src);
    const out = new Map<string, { dtype: OnnxTensorInput['dtype']; shape: number[]; data: Uint8Array }>();
    for (const t of file.tensors) out.set(t.name, { dtype: t.dtype, shape: [...t.shape], data: await t.load() });
    return out;
  } finally {
    await src.close();
  }
}

async function writeTo(dir: string, name: string, template: string, tensors: ReadonlyMap<string, OnnxTensorInput>, opts = {}): Promise<string> {
  const src = await openFileSource(template);
  try {
    const out = await writeOnnx(src, tensors, opts);
    await writeFile(join(dir, name), out.model);
    if (out.data) await writeFile(join(dir, out.dataLocation!), out.data);
    return join(dir, name);
  } finally {
    await src.close();
  }
}

const scaled = (data: Uint8Array, k: number): Uint8Array => {
  const f = new Float32Array(data.slice().buffer);
  for (let i = 0; i < f.length; i++) f[i]! *= k;
  return new Uint8Array(f.buffer);
};

describe('ONNX writer', () => {
  test('the same weights give back the template byte for byte (inline, and external under the same location)', async () => {
    const inline = new Uint8Array(await readFile(join(DIR, 'cnn.onnx')));
    const all = await initializers(join(DIR, 'cnn.onnx'));
    // Nothing replaced: a pure copy. Every initializer replaced by its own bytes: the rewrite path.
    for (const tensors of [new Map(), all]) {
      const out = await writeOnnx(bufferSource('cnn.onnx', inline), tensors);
      assert.equal(out.data, undefined);
      assert.equal(sha(out.model), sha(inline));
    }
    const ext = await initializers(join(DIR, 'cnn_external.onnx'));
    const src = await openFileSource(join(DIR, 'cnn_external.onnx'));
    try {
      const out = await writeOnnx(src, ext, { dataLocation: 'cnn_external.onnx.data' });
      assert.equal(sha(out.model), sha(await readFile(join(DIR, 'cnn_external.onnx'))));
      assert.equal(sha(out.data!), sha(await readFile(join(DIR, 'cnn_external.onnx.data'))));
    } finally {
      await src.close();
    }
  });

  test('new weights: onnx.checker accepts the model and onnxruntime runs it to the outputs the new bias implies', async () => {
    const dir = await tempDir();
    const template = join(DIR, 'cnn.onnx');
    const base = await run(template);
    const same = await run(await writeTo(dir, 'same.onnx', template, await initializers(template)));
    assert.deepEqual(same, base);

    const old = (await initializers(template)).get('fc.bias')!;
    const bias = scaled(old.data, 3);
    const path = await writeTo(dir, 'tuned.onnx', template, new Map([['fc.bias', { dtype: 'F32', shape: [10], data: bias }]]));
    const checked = onnxCheck(path);
    assert.equal(checked.initializers['fc.bias']!.sha256, sha(bias));
    // The reference check runs on a copy: fixtures are never handed to a tool that could write.
    await copyFile(template, join(dir, 'reference.onnx'));
    const reference = onnxCheck(join(dir, 'reference.onnx'));
    for (const [name, info] of Object.entries(reference.initializers)) {
      if (name !== 'fc.bias') assert.deepEqual(checked.initializers[name], info, name);
    }
    const tuned = await run(path);
    const b = new Float32Array(old.data.slice().buffer);
    assert.equal(tuned.length, 20);
    for (let i = 0; i < tuned.length; i++) {
      // logits = W·x + b, so tripling b adds 2b; float rounding allows a few ulps.
      assert.ok(Math.abs(tuned[i]! - base[i]! - 2 * b[i % 10]!) < 1e-4, `logit ${i}: ${tuned[i]} vs ${base[i]} + 2 × ${b[i % 10]}`);
    }
    // And a changed convolution changes what follows it.
    const conv = (await initializers(template)).get('onnx::Conv_28')!;
    const moved = await run(await writeTo(dir, 'conv.onnx', template, new Map([['onnx::Conv_28', { ...conv, data: scaled(conv.data, -1) }]])));
    assert.notDeepEqual(moved, base);
  });

  test('external data: written beside the model under a new name, or moved inline, or moved out of an inline model', async () => {
    const dir = await tempDir();
    const template = join(DIR, 'cnn_external.onnx');
    const base = await run(join(DIR, 'cnn.onnx'));
    assert.deepEqual(await run(template), base);
    const w = await initializers(template);
    const fcw = w.get('fc.weight')!;

    // External template, new fc.weight, external output under the output's own name.
    const half = scaled(fcw.data, 0.5);
    const ext = await writeTo(dir, 'tuned.onnx', template, new Map([['fc.weight', { ...fcw, data: half }]]), { dataLocation: 'tuned.onnx.data' });
    const checked = onnxCheck(ext);
    assert.equal(checked.initializers['fc.weight']!.sha256, sha(half));
    assert.deepEqual(Object.entries(checked.initializers).filter(([, i]) => i.external).map(([n]) => n).sort(), ['fc.weight', 'onnx::Conv_28', 'onnx::Conv_31']);
    const out = await run(ext);
    // The last layer is linear: halving W halves W·x, so out = (base − b)/2 + b.
    const b = new Float32Array(w.get('fc.bias')!.data.slice().buffer);
    for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i]! - ((base[i]! - b[i % 10]!) / 2 + b[i % 10]!)) < 1e-4, `logit ${i}`);

    // External template, everything inline.
    const inline = await writeTo(dir, 'inline.onnx', template, new Map(), { externalData: false });
    assert.ok(Object.values(onnxCheck(inline).initializers).every((i) => !i.external));
    assert.deepEqual(await run(inline), base);

    // Inline template, weights of 1 KiB or more moved to an external file (onnx's own threshold).
    const moved = await writeTo(dir, 'moved.onnx', join(DIR, 'cnn.onnx'), new Map(), { externalData: true, dataLocation: 'moved.bin', externalThreshold: 1024 });
    const m = onnxCheck(moved);
    assert.deepEqual(Object.entries(m.initializers).filter(([, i]) => i.external).map(([n]) => n).sort(), ['fc.weight', 'onnx::Conv_28', 'onnx::Conv_31']);
    assert.deepEqual(await run(moved), base);
  });

  test('unknown names, other dtypes or shapes, wrong byte counts and bad locations are typed errors', async () => {
    const template = new Uint8Array(await readFile(join(DIR, 'cnn.onnx')));
    const src = bufferSource('cnn.onnx', template);
    const f32 = (shape: number[], n = shape.reduce((a, d) => a * d, 1)): OnnxTensorInput => ({ dtype: 'F32', shape, data: new Uint8Array(n * 4) });
    await assert.rejects(writeOnnx(src, new Map([['fc.nothing', f32([10])]])), (e) => isEngramError(e, 'NotFound') && /fc\.nothing/.test(e.message));
    await assert.rejects(writeOnnx(src, new Map([['fc.bias', f32([11])]])), (e) => isEngramError(e, 'InvalidArgument') && /\[10\]/.test(e.message));
    await assert.rejects(writeOnnx(src, new Map([['fc.bias', { dtype: 'F16', shape: [10], data: new Uint8Array(20) }]])), (e) => isEngramError(e, 'InvalidArgument') && /F16/.test(e.message));
    await assert.rejects(writeOnnx(src, new Map([['fc.bias', f32([10], 9)]])), (e) => isEngramError(e, 'InvalidArgument') && /36 bytes/.test(e.message));
    await assert.rejects(writeOnnx(src, new Map(), { externalData: true, dataLocation: '../x.data', externalThreshold: 1 }), (e) => isEngramError(e, 'InvalidArgument'));
    await assert.rejects(writeOnnx(bufferSource('bad.onnx', template.subarray(0, 5000)), new Map()), (e) => isEngramError(e, 'FormatError'));
  });

  test('streams: a 24 MiB model is read once in bounded windows and written in pieces of at most 4 MiB', async () => {
    // A hand-built ModelProto: ir_version, opset 13, a graph of Add(x, w) with one 6M-float initializer.
    const n = 6 * 1024 * 1024;
    const w = new Uint8Array(n * 4).fill(0x3f, 0, 8);
    const tensor = concatBytes([varintField(1, n), varintField(2, 1), bytesField(8, 'w'), lengthHeader(9, w.byteLength), w]);
    const valueInfo = (name: string): Uint8Array => bytesField(1, name);
    const node = concatBytes([bytesField(1, 'x'), bytesField(1, 'w'), bytesField(2, 'y'), bytesField(4, 'Add')]);
    const graph = concatBytes([bytesField(1, node), bytesField(2, 'g'), lengthHeader(5, tensor.byteLength), tensor, bytesField(11, valueInfo('x')), bytesField(12, valueInfo('y'))]);
    const model = concatBytes([varintField(1, 7), bytesField(8, concatBytes([bytesField(1, ''), varintField(2, 13)])), lengthHeader(7, graph.byteLength), graph]);
    const src = counting(bufferSource('big.onnx', model));
    const fresh = new Uint8Array(w.byteLength).fill(1);
    const plan = await planOnnxWrite(src, new Map([['w', { dtype: 'F32', shape: [n], data: async () => fresh }]]));
    assert.equal(plan.modelSize, model.byteLength);
    let size = 0;
    const pieces: number[] = [];
    for await (const p of plan.model()) {
      pieces.push(p.byteLength);
      size += p.byteLength;
    }
    assert.equal(size, model.byteLength);
    // The only piece over 4 MiB is the new tensor itself, handed over as given.
    assert.deepEqual(pieces.filter((l) => l > 4 * 1024 * 1024), [fresh.byteLength]);
    // The template's weights are skipped by length, never read: the reads cover the structure only.
    assert.ok(src.requested < 1024 * 1024, `read ${src.requested} bytes of a ${model.byteLength}-byte template`);
    assert.ok(Math.max(...src.reads.map(([, l]) => l)) <= 64 * 1024);

    // Nothing replaced: the weights are copied through in windows of at most 4 MiB, each byte once.
    const again = counting(bufferSource('big.onnx', model));
    const copy = await planOnnxWrite(again, new Map());
    const parts: Uint8Array[] = [];
    for await (const p of copy.model()) parts.push(p);
    assert.ok(parts.every((p) => p.byteLength <= 4 * 1024 * 1024));
    assert.equal(sha(concatBytes(parts)), sha(model));
    assert.ok(again.requested < model.byteLength + 1024 * 1024, `read ${again.requested} bytes of a ${model.byteLength}-byte template`);
  });

  test('an initializer stored in float_data is replaced by raw_data; onnxruntime adds the new values', async () => {
    const dir = await tempDir();
    // y = x + w, with w = [1, 2, 3] as packed float_data (field 4), as some exporters write small constants.
    const vi = (name: string): Uint8Array => concatBytes([
      bytesField(1, name),
      bytesField(2, bytesField(1, concatBytes([varintField(1, 1), bytesField(2, bytesField(1, varintField(1, 3)))]))),
    ]);
    const floats = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
    const w = concatBytes([varintField(1, 3), varintField(2, 1), bytesField(4, floats), bytesField(8, 'w')]);
    const node = concatBytes([bytesField(1, 'x'), bytesField(1, 'w'), bytesField(2, 'y'), bytesField(4, 'Add')]);
    const graph = concatBytes([bytesField(1, node), bytesField(2, 'g'), bytesField(5, w), bytesField(11, vi('x')), bytesField(12, vi('y'))]);
    const model = concatBytes([varintField(1, 7), bytesField(8, concatBytes([bytesField(1, ''), varintField(2, 13)])), bytesField(7, graph)]);
    const template = join(dir, 'add.onnx');
    await writeFile(template, model);
    const fresh = new Uint8Array(new Float32Array([10, 20, 30]).buffer);
    const out = await writeTo(dir, 'add2.onnx', template, new Map([['w', { dtype: 'F32', shape: [3], data: fresh }]]));
    assert.equal(onnxCheck(out).initializers.w!.sha256, sha(fresh));
    const s = await ort.InferenceSession.create(out);
    try {
      const y = (await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 1, 1]), [3]) })).y!.data as Float32Array;
      assert.deepEqual([...y], [11, 21, 31]);
    } finally {
      await s.release();
    }
  });

  test('a template copied to another directory keeps finding its external data', async () => {
    const dir = await tempDir();
    await copyFile(join(DIR, 'cnn_external.onnx'), join(dir, 'cnn_external.onnx'));
    await copyFile(join(DIR, 'cnn_external.onnx.data'), join(dir, 'cnn_external.onnx.data'));
    const out = await writeTo(dir, 'copy.onnx', join(dir, 'cnn_external.onnx'), new Map(), { dataLocation: 'copy.onnx.data' });
    assert.deepEqual(await run(out), await run(join(DIR, 'cnn.onnx')));
  });
});
