/**
 * The streamed writers give the bytes of the in-memory ones, loading each tensor once, in turn,
 * only after the previous one's bytes have gone to the consumer — so a loader may hand every
 * tensor out in one reused buffer, as `engram export` does.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DType } from '../../src/tensor/index.ts';
import {
  canHold, streamTensorDirectory, streamTensorFile, streamTfjsModel, writePytorch, writeTensorDirectory, writeTensorFile, writeTfjsModel,
  type LazyTensorInput, type TensorFileInput, type WritableFormat,
} from '../../src/formats/index.ts';

const TENSORS: TensorFileInput[] = ([
  ['w', 'F32', [3, 5]], ['b', 'F32', [5]], ['idx', 'I64', [4]], ['mask', 'BOOL', [6]], ['half', 'F16', [2, 3]],
  ['ids', 'I32', [7]], ['empty', 'F32', [0, 4]], ['q', 'I8', [9]], ['größe', 'F64', [2]],
] as const).map(([name, dtype, shape], i) => {
  const n = shape.reduce((a, d) => a * d, 1) * ({ F32: 4, I64: 8, BOOL: 1, F16: 2, I32: 4, I8: 1, F64: 8 } as const)[dtype];
  const data = Uint8Array.from({ length: n }, (_, k) => (dtype === 'BOOL' ? k % 2 : (i * 31 + k * 7) % 251));
  return { name, dtype: dtype as DType, shape: [...shape], data };
});

/**
 * The tensors as lazy inputs that all load into one shared buffer, checking that each is loaded
 * once and only after every byte of the one before has been consumed (`consumed` is the set of
 * pieces the consumer has copied out).
 */
function lazy(tensors: readonly TensorFileInput[], consumed: { bytes: number }): { inputs: LazyTensorInput[]; loads: string[] } {
  const shared = new Uint8Array(Math.max(...tensors.map((t) => t.data.byteLength)));
  const loads: string[] = [];
  let owed = 0;
  const inputs = tensors.map((t) => ({
    name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength,
    load: async () => {
      assert.ok(consumed.bytes >= owed, `${t.name} was loaded before the previous tensor's bytes were all consumed`);
      assert.ok(!loads.includes(t.name), `${t.name} is loaded twice`);
      loads.push(t.name);
      const view = shared.subarray(0, t.data.byteLength);
      view.set(t.data);
      owed = consumed.bytes + t.data.byteLength;
      return view;
    },
  }));
  return { inputs, loads };
}

/** Copies out every piece (as writing it to a file does) and counts the bytes consumed. */
async function drain(pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, consumed: { bytes: number }): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const p of pieces) {
    parts.push(Buffer.from(p));
    consumed.bytes += p.byteLength;
  }
  return new Uint8Array(Buffer.concat(parts));
}

describe('streamed tensor writers', () => {
  for (const format of ['safetensors', 'npz', 'gguf', 'pt', 'npy'] as const satisfies readonly WritableFormat[]) {
    test(`${format}: the same bytes as the in-memory writer, one tensor at a time`, async () => {
      const tensors = TENSORS.filter((t) => canHold(format, t.dtype)).slice(0, format === 'npy' ? 1 : undefined);
      assert.ok(tensors.length > 0);
      const metadata = format === 'safetensors' || format === 'gguf' ? { note: 'streamed' } : undefined;
      const want = format === 'pt' ? writePytorch(tensors) : writeTensorFile(format, tensors, metadata);
      const consumed = { bytes: 0 };
      const { inputs, loads } = lazy(tensors, consumed);
      const got = await drain(streamTensorFile(format, inputs, metadata ? { metadata } : {}), consumed);
      assert.ok(Buffer.from(got).equals(Buffer.from(want)), `${format} bytes differ`);
      assert.deepEqual([...loads].sort(), tensors.map((t) => t.name).sort());
    });
  }

  test('tfjs: model.json and shards the same as writeTfjsModel, also for weights across shard edges', async () => {
    const tensors = TENSORS.filter((t) => canHold('tfjs', t.dtype));
    const check = async (want: readonly { path: string; bytes: Uint8Array }[], streamed: (inputs: LazyTensorInput[]) => readonly { path: string; pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array> }[]): Promise<void> => {
      const consumed = { bytes: 0 };
      const { inputs, loads } = lazy(tensors, consumed);
      const files = streamed(inputs);
      assert.deepEqual(files.map((f) => f.path), want.map((f) => f.path));
      for (const [i, f] of files.entries()) assert.ok(Buffer.from(await drain(f.pieces, consumed)).equals(Buffer.from(want[i]!.bytes)), `${f.path} differs`);
      // A tensor of no bytes after the last shard's final byte has nothing to give and may stay unloaded.
      assert.deepEqual([...loads].filter((n) => n !== 'empty').sort(), tensors.filter((t) => t.data.byteLength > 0).map((t) => t.name).sort());
    };
    await check(writeTensorDirectory('tfjs', tensors), (inputs) => streamTensorDirectory('tfjs', inputs));
    const small = writeTfjsModel(tensors, { shardBytes: 7 });
    assert.ok(small.length > 5);
    await check(small, (inputs) => streamTfjsModel(inputs, { shardBytes: 7 }));
  });

  test('a load that returns other than the planned length is an IntegrityMismatch, not a wrong file', async () => {
    const t = TENSORS[0]!;
    const short: LazyTensorInput = { name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength, load: async () => t.data.subarray(1) };
    await assert.rejects(drain(streamTensorFile('safetensors', [short]), { bytes: 0 }), (e: unknown) => (e as { code?: string }).code === 'IntegrityMismatch');
  });
});
