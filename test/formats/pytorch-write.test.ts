/**
 * The PyTorch writer against PyTorch itself (Debian's python3-torch 1.13): a state dict engram
 * writes is byte-identical to what `torch.save` writes for the same tensors, `torch.load` (with
 * `weights_only=True`) reads every dtype back equal, training checkpoints keep their structure, and
 * engram's own reader reads all of it back.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { bufferSource, readTensorFile, writeTensorFile, type TensorFileInput } from '../../src/formats/index.ts';
import { nestedTorchObject, writePytorch } from '../../src/formats/pytorch/write-pytorch.ts';
import type { TorchObject } from '../../src/formats/pytorch/write-pytorch-pickle.ts';
import type { DType } from '../../src/tensor/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { sha } from '../helpers/format-checks.ts';
import { f32Tensor, gaussian } from '../helpers/weights.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = new URL('../../scripts/torch-checkpoint.py', import.meta.url).pathname;

interface TorchDump {
  tensors: Record<string, { dtype: string; shape: number[]; sha256: string }>;
  object: unknown;
}

/** Runs the reference script; fails loudly with the install hint when torch is missing. */
function torchScript(...args: string[]): TorchDump {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `${SCRIPT} ${args.join(' ')} failed (python3-torch is needed: apt-get install -y --no-install-recommends python3-torch):\n${r.stderr}`);
  return JSON.parse(r.stdout) as TorchDump;
}

const TORCH_NAMES: Readonly<Record<string, string>> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};

const bytesOf = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 17 + (i >> 3)) & 0xff);

/** Every dtype torch 1.13 stores, with 0-d, empty and bool tensors. */
function everyDtype(): TensorFileInput[] {
  const w = f32Tensor([8, 5], 3);
  return [
    { name: 'layer.weight', dtype: 'F32', shape: [8, 5], data: w.data },
    { name: 'layer.bias', dtype: 'F32', shape: [8], data: new Uint8Array(gaussian(8, 4).buffer) },
    { name: 'f64', dtype: 'F64', shape: [3, 2], data: new Uint8Array(new Float64Array([1, -2.5, Infinity, -0, 1e-310, Math.PI]).buffer) },
    { name: 'f16', dtype: 'F16', shape: [4], data: bytesOf(8, 1) },
    { name: 'bf16', dtype: 'BF16', shape: [2, 3], data: bytesOf(12, 2) },
    { name: 'i64', dtype: 'I64', shape: [3], data: new Uint8Array(new BigInt64Array([-(2n ** 62n), 0n, 2n ** 63n - 1n]).buffer) },
    { name: 'i32', dtype: 'I32', shape: [2], data: bytesOf(8, 3) },
    { name: 'i16', dtype: 'I16', shape: [5], data: bytesOf(10, 4) },
    { name: 'i8', dtype: 'I8', shape: [7], data: bytesOf(7, 5) },
    { name: 'u8', dtype: 'U8', shape: [9], data: bytesOf(9, 6) },
    { name: 'mask', dtype: 'BOOL', shape: [2, 2], data: Uint8Array.from([1, 0, 0, 1]) },
    { name: 'step', dtype: 'I64', shape: [], data: new Uint8Array(new BigInt64Array([42n]).buffer) },
    { name: 'empty', dtype: 'F32', shape: [2, 0, 3], data: new Uint8Array(0) },
  ];
}

/** What torch should report for `tensors`. */
const expected = (tensors: readonly TensorFileInput[], prefix = ''): TorchDump['tensors'] =>
  Object.fromEntries(tensors.map((t) => [prefix + t.name, { dtype: TORCH_NAMES[t.dtype]!, shape: [...t.shape], sha256: sha(t.data) }]));

async function engramRead(bytes: Uint8Array): Promise<Map<string, { dtype: DType; shape: number[]; sha256: string }>> {
  const file = await readTensorFile(bufferSource('x.pt', bytes));
  assert.equal(file.format, 'pytorch');
  const out = new Map<string, { dtype: DType; shape: number[]; sha256: string }>();
  for (const t of file.tensors) out.set(t.name, { dtype: t.dtype, shape: [...t.shape], sha256: sha(await t.load()) });
  return out;
}

describe('PyTorch writer', () => {
  test('a state dict is byte-identical to torch.save of the same tensors (every dtype, 0-d, empty, 1,017 entries)', async () => {
    const dir = await tempDir();
    const ref = join(dir, 'ref.pt');
    const dump = torchScript('make-bytes', ref);
    const torchBytes = new Uint8Array(await readFile(ref));
    const file = await readTensorFile(bufferSource(ref, torchBytes));
    const byName = new Map(file.tensors.map((t) => [t.name, t]));
    const tensors: TensorFileInput[] = [];
    // In the state dict's own order, which is the order torch pickles it in.
    for (const name of Object.keys(dump.tensors)) {
      const t = byName.get(name)!;
      tensors.push({ name, dtype: t.dtype, shape: t.shape, data: await t.load() });
    }
    assert.equal(tensors.length, 1017);
    const mine = writePytorch(tensors);
    assert.equal(mine.byteLength, torchBytes.byteLength);
    assert.equal(sha(mine), sha(torchBytes));
  });

  test('golden bytes without Python: the corpus files torch 1.13 wrote (a bare tensor; every dtype with inf/nan/-0/subnormals) are reproduced exactly', async () => {
    const corpus = new URL('../fixtures/torch/corpus/', import.meta.url).pathname;
    for (const [file, ordered] of [['bare_tensor', false], ['dtypes', true]] as const) {
      const ref = new Uint8Array(await readFile(`${corpus}${file}.pt`));
      const read = await readTensorFile(bufferSource(file, ref));
      const tensors: TensorFileInput[] = [];
      for (const t of read.tensors) tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await t.load() });
      // The reader's JSON of the object, as the writer takes it; dtypes.pt holds an OrderedDict,
      // which that JSON writes as a plain object.
      const json = JSON.parse(read.metadata!['pytorch:object']!) as TorchObject;
      const object: TorchObject = ordered ? { $dict: Object.entries(json as Record<string, TorchObject>), ordered: true } : json;
      // torch.save names the archive after the file it writes.
      assert.equal(sha(writePytorch(tensors, { archiveName: file, object })), sha(ref), file);
    }
  });

  test('torch.load(weights_only=True) reads every dtype back equal, and so does engram', async () => {
    const dir = await tempDir();
    const tensors = everyDtype();
    const bytes = writeTensorFile('pt', tensors);
    const path = join(dir, 'all.pt');
    await writeFile(path, bytes);
    const dump = torchScript('dump', path);
    assert.deepEqual(dump.tensors, expected(tensors));
    assert.deepEqual(Object.keys(dump.tensors), tensors.map((t) => t.name), 'state dict order is kept');
    const back = await engramRead(bytes);
    for (const t of tensors) assert.deepEqual(back.get(t.name), { dtype: t.dtype, shape: [...t.shape], sha256: sha(t.data) }, t.name);
  });

  test('a training checkpoint keeps its structure: nested dicts, int keys, tuples, floats, big ints, tied tensors', async () => {
    const dir = await tempDir();
    const tensors = everyDtype().filter((t) => t.name.startsWith('layer.'));
    const adam = (name: string, seed: number): TensorFileInput => ({ name, dtype: 'F32', shape: [8], data: new Uint8Array(gaussian(8, seed).buffer) });
    const slots = [adam('exp_avg.0', 10), adam('exp_avg_sq.0', 11)];
    const rng: TensorFileInput = { name: 'rng', dtype: 'U8', shape: [16], data: bytesOf(16, 9) };
    const object: TorchObject = {
      model: { $dict: tensors.map((t) => [t.name, { $tensor: t.name }] as const), ordered: true },
      optimizer: {
        state: { $dict: [[0, { step: { $float: 100 }, exp_avg: { $tensor: 'exp_avg.0' }, exp_avg_sq: { $tensor: 'exp_avg_sq.0' } }]] },
        param_groups: [{ lr: 0.001, betas: { $tuple: [0.9, 0.999] }, eps: 1e-8, weight_decay: 0, amsgrad: false, params: [0, 1] }],
      },
      epoch: 7,
      global_step: { $int: '123456789012345678901' },
      best_loss: { $float: 'inf' },
      rng_state: { $tensor: 'rng' },
      tied: { $tensor: 'layer.weight' },
      note: 'résumé',
      flags: [true, false, null],
    };
    const bytes = writePytorch([...tensors, ...slots, rng], { object });
    const path = join(dir, 'ckpt.pt');
    await writeFile(path, bytes);
    // torch 1.13's weights_only unpickler has no BINFLOAT, so a checkpoint holding floats needs the
    // full loader (safe here: the test wrote the file itself).
    const dump = torchScript('dump', path, '--full');
    const want = {
      ...expected(tensors, 'model.'),
      'optimizer.state.0.exp_avg': expected([slots[0]!])['exp_avg.0']!,
      'optimizer.state.0.exp_avg_sq': expected([slots[1]!])['exp_avg_sq.0']!,
      rng_state: expected([rng]).rng!,
      tied: expected(tensors)['layer.weight']!,
    };
    assert.deepEqual(dump.tensors, want);
    assert.deepEqual(dump.object, {
      $dict: [
        ['model', { $dict: tensors.map((t) => [t.name, { $tensor: `model.${t.name}` }]), ordered: true }],
        ['optimizer', {
          $dict: [
            ['state', { $dict: [[0, { $dict: [['step', { $float: 100 }], ['exp_avg', { $tensor: 'optimizer.state.0.exp_avg' }], ['exp_avg_sq', { $tensor: 'optimizer.state.0.exp_avg_sq' }]], ordered: false }]], ordered: false }],
            ['param_groups', [{ $dict: [['lr', { $float: 0.001 }], ['betas', { $tuple: [{ $float: 0.9 }, { $float: 0.999 }] }], ['eps', { $float: 1e-8 }], ['weight_decay', 0], ['amsgrad', false], ['params', [0, 1]]], ordered: false }]],
          ],
          ordered: false,
        }],
        ['epoch', 7],
        ['global_step', { $int: '123456789012345678901' }],
        ['best_loss', { $float: 'inf' }],
        ['rng_state', { $tensor: 'rng_state' }],
        ['tied', { $tensor: 'tied' }],
        ['note', 'résumé'],
        ['flags', [true, false, null]],
      ],
      ordered: false,
    });
    // engram reads it back: the same tensors under the same dotted names.
    const back = await engramRead(bytes);
    for (const [name, t] of Object.entries(want)) assert.equal(back.get(name)?.sha256, t.sha256, name);

    // A checkpoint of tensors, ints, strings and nested dicts loads under weights_only=True too.
    const plain = writePytorch(tensors, { object: { model: { $dict: tensors.map((t) => [t.name, { $tensor: t.name }] as const), ordered: true }, epoch: 3, tag: 'x' } });
    await writeFile(path, plain);
    assert.deepEqual(torchScript('dump', path).tensors, expected(tensors, 'model.'));
  });

  test('misuse is a typed error before anything is written', () => {
    const t = everyDtype()[0]!;
    const refused = (f: () => unknown, code: string, re: RegExp): void => {
      assert.throws(f, (e) => isEngramError(e) && e.code === code && re.test(e.message));
    };
    refused(() => writePytorch([t, t]), 'InvalidArgument', /given twice/);
    refused(() => writePytorch([{ ...t, data: t.data.subarray(1) }]), 'InvalidArgument', /layer\.weight/);
    refused(() => writePytorch([t], { object: { w: { $tensor: 'nope' } } }), 'InvalidArgument', /nope/);
    refused(() => writePytorch([t], { object: { epoch: 1 } }), 'InvalidArgument', /not referred to/);
    refused(() => writePytorch([t], { object: { w: { $tensor: t.name }, d: { $global: 'os.system' } } }), 'InvalidArgument', /os\.system/);
    refused(() => writePytorch([{ name: 'q', dtype: 'opaque:Q4_K', shape: [144], data: new Uint8Array(144) }]), 'Unsupported', /Q4_K/);
    refused(() => writeTensorFile('pt', [{ name: 'q', dtype: 'opaque:Q4_K', shape: [144], data: new Uint8Array(144) }]), 'Unsupported', /Q4_K/);
    refused(() => nestedTorchObject(['model/w', 'model/w/x']), 'InvalidArgument', /prefix/);
    refused(() => nestedTorchObject(['model/w/x', 'model/w']), 'InvalidArgument', /prefix/);
    refused(() => nestedTorchObject(['model//w']), 'InvalidArgument', /empty part/);
  });
});
