/**
 * Extension namespaces of a training state: the round trip (tensors, records, record-only and
 * tensor-only namespaces, restore into the caller's buffers), staging and deduplication through
 * CheckpointManager, the name grammar, and the typed refusals on save and on restore.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngramError, type EngramError } from '../../src/errors/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { MemoryStore, type ObjectStore } from '../../src/store/index.ts';
import { Tensor, type TensorData } from '../../src/tensor/index.ts';
import {
  CheckpointManager, checkNamespaceName, decodeStateJson, encodeTrainingState, readTrainingState, RESERVED_NAMESPACES, type TrainingState,
} from '../../src/train/index.ts';
import { MlpTrainer } from './fixtures/mlp.ts';
import { GatedStore } from './fixtures/stores.ts';

const f32 = (values: number[], shape: number[]): Tensor => Tensor.fromFloat32(Float32Array.from(values), shape);
const bytes = (t: { data: Uint8Array }): Buffer => Buffer.from(t.data);
const zerosLike = (t: TensorData): Tensor => new Tensor(t.dtype, t.shape, new Uint8Array(t.data.byteLength));

async function memoryRepo(store: ObjectStore = new MemoryStore()): Promise<Repository> {
  return Repository.init('memory://', { store });
}

async function save(repo: Repository, state: TrainingState, step = 1): Promise<string> {
  const e = encodeTrainingState(state);
  return (await repo.save({ run: 'r', step, tensors: e.tensors, blobs: e.blobs, meta: e.meta })).id;
}

/** A state with three namespaces: tensors and a record, tensors only (a name with segments), a record only. */
function withNamespaces(trainer: MlpTrainer): TrainingState {
  return {
    ...trainer.state(),
    namespaces: {
      replay: {
        tensors: { x: f32([1, 2, 3, 4, 5, 6], [3, 2]), y: new Tensor('I32', [3], new Uint8Array(Int32Array.from([2, 0, 1]).buffer)) },
        record: { size: 3, seen: 17, lost: Number.NaN, zero: -0 },
      },
      'ewc/task-a': { tensors: { fisher: f32([0.5, 0.25], [2]), 'anchor/w1': f32([7, 8], [2]) } },
      tasks: { record: { current: 'task-a', order: ['task-a'] } },
    },
  };
}

describe('training-state namespaces', () => {
  test('round trip: tensors as <ns>/<name>, records as blob <ns>, listed in blob train and meta train', async () => {
    const repo = await memoryRepo();
    const trainer = new MlpTrainer(1);
    trainer.trainStep();
    const state = withNamespaces(trainer);
    const snap = await repo.snapshot(await save(repo, state));
    assert.deepEqual(snap.tensorNames().filter((n) => !/^(model|optimizer)\//.test(n)), ['replay/x', 'replay/y', 'ewc/task-a/fisher', 'ewc/task-a/anchor/w1']);
    assert.deepEqual(snap.blobNames().sort(), ['data', 'replay', 'rng', 'tasks', 'train']);
    assert.deepEqual((snap.meta.train as { namespaces: string[] }).namespaces, ['replay', 'ewc/task-a', 'tasks']);
    const header = decodeStateJson(await snap.blob('train'), 'train') as { namespaces: unknown };
    assert.deepEqual(header.namespaces, [
      { name: 'replay', tensors: [{ name: 'x', dtype: 'F32', shape: [3, 2] }, { name: 'y', dtype: 'I32', shape: [3] }], record: true },
      { name: 'ewc/task-a', tensors: [{ name: 'fisher', dtype: 'F32', shape: [2] }, { name: 'anchor/w1', dtype: 'F32', shape: [2] }], record: false },
      { name: 'tasks', tensors: [], record: true },
    ]);

    const back = await readTrainingState(snap);
    assert.deepEqual(Object.keys(back.namespaces!), ['replay', 'ewc/task-a', 'tasks']);
    for (const [name, ns] of Object.entries(state.namespaces!)) {
      const got = back.namespaces![name]!;
      assert.deepEqual(Object.keys(got.tensors), Object.keys(ns.tensors ?? {}), name);
      for (const [t, tensor] of Object.entries(ns.tensors ?? {})) {
        assert.equal(got.tensors[t]!.dtype, tensor.dtype);
        assert.deepEqual(got.tensors[t]!.shape, tensor.shape);
        assert.ok(bytes(got.tensors[t]!).equals(bytes(tensor)), `${name}/${t}`);
      }
      assert.deepEqual(got.record, ns.record, name);
      assert.equal('record' in got, ns.record !== undefined, name);
    }
    const record = back.namespaces!.replay!.record as { lost: number; zero: number };
    assert.ok(Number.isNaN(record.lost) && Object.is(record.zero, -0));
  });

  test('a state without namespaces writes blob train and meta train without the key, as before', async () => {
    const trainer = new MlpTrainer(2);
    const e = encodeTrainingState(trainer.state());
    assert.equal('namespaces' in (decodeStateJson(e.blobs.train!, 'train') as object), false);
    assert.equal('namespaces' in (e.meta.train as object), false);
    const repo = await memoryRepo();
    assert.equal((await readTrainingState(await repo.snapshot(await save(repo, trainer.state())))).namespaces, undefined);
  });

  test('restores into the caller\'s namespace buffers in place, after checking their layout', async () => {
    const repo = await memoryRepo();
    const trainer = new MlpTrainer(3);
    const state = withNamespaces(trainer);
    const snap = await repo.snapshot(await save(repo, state));
    const replay = state.namespaces!.replay!.tensors!;
    const target = { x: zerosLike(replay.x!), y: zerosLike(replay.y!) };
    const back = await readTrainingState(snap, { namespaces: { replay: target, tasks: {} } });
    assert.equal(back.namespaces!.replay!.tensors.x!.data.buffer, target.x.data.buffer);
    assert.ok(bytes(target.x).equals(bytes(replay.x!)) && bytes(target.y).equals(bytes(replay.y!)));
    // Namespaces not asked for come back in fresh buffers.
    assert.ok(bytes(back.namespaces!['ewc/task-a']!.tensors.fisher!).equals(bytes(state.namespaces!['ewc/task-a']!.tensors!.fisher!)));
  });

  test('a resume expecting a namespace the checkpoint lacks, or other names, dtypes or shapes, is InvalidArgument, and nothing is loaded', async () => {
    const repo = await memoryRepo();
    const trainer = new MlpTrainer(4);
    const state = withNamespaces(trainer);
    const snap = await repo.snapshot(await save(repo, state));
    const plain = await repo.snapshot(await save(repo, trainer.state(), 2));
    const replay = state.namespaces!.replay!.tensors!;
    const x = (): Tensor => zerosLike(replay.x!);
    const y = (): Tensor => zerosLike(replay.y!);
    const model = Object.fromEntries(Object.entries(trainer.state().model).map(([n, t]) => [n, zerosLike(t)]));
    const cases: { snap: typeof snap; namespaces: Record<string, Record<string, Tensor>>; match: RegExp; kind?: string; reason?: string }[] = [
      { snap, namespaces: { replay: { x: x(), y: y() }, ewc: {} }, match: /has no namespace ewc \(it has replay, ewc\/task-a, tasks\)/, reason: 'namespace missing' },
      { snap: plain, namespaces: { replay: { x: x(), y: y() } }, match: /has no namespace replay \(it has none\)/, reason: 'namespace missing' },
      { snap, namespaces: { replay: { x: x() } }, match: /y is in the checkpoint but not in the target/, kind: 'missing' },
      { snap, namespaces: { replay: { x: x(), y: y(), z: y() } }, match: /z is in the target but not in the checkpoint/, kind: 'extra' },
      { snap, namespaces: { replay: { x: new Tensor('F32', [2, 3], new Uint8Array(24)), y: y() } }, match: /replay tensor x is F32\[3, 2\] in the checkpoint but F32\[2, 3\] in the target/, kind: 'shape' },
      { snap, namespaces: { replay: { x: x(), y: new Tensor('U32', [3], new Uint8Array(12)) } }, match: /replay tensor y is I32\[3\] in the checkpoint but U32\[3\]/, kind: 'dtype' },
      { snap, namespaces: { tasks: { extra: y() } }, match: /extra is in the target but not in the checkpoint/, kind: 'extra' },
    ];
    for (const c of cases) {
      await assert.rejects(readTrainingState(c.snap, { model, namespaces: c.namespaces }), (e: EngramError) => {
        assert.equal(e.code, 'InvalidArgument');
        assert.match(e.message, c.match);
        assert.equal(typeof e.data.namespace, 'string');
        if (c.kind) assert.equal((e.data.mismatch as { kind: string }).kind, c.kind);
        if (c.reason) assert.equal(e.data.reason, c.reason);
        return true;
      });
      for (const t of [...Object.values(model), ...Object.values(c.namespaces).flatMap((ns) => Object.values(ns))]) assert.ok(t.data.every((b) => b === 0), 'nothing was loaded');
    }
  });

  test('name grammar: segments of letters, digits, _ - . joined by /, reserved names refused', () => {
    for (const ok of ['replay', 'ewc/task-a', 'tasks', 'ewc/Task_3.v2/fisher', 'a/b/c/d', 'x'.repeat(64), '0', 'models', 'data2', 'my/model']) assert.equal(checkNamespaceName(ok), ok);
    const grammar = ['', '/replay', 'replay/', 'a//b', '.x', 'a/..', '-x', '_x', 'a b', 'é', 'a/b/c/d/e', 'x'.repeat(65), `${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(10)}`];
    for (const bad of grammar) assert.throws(() => checkNamespaceName(bad), (e) => isEngramError(e, 'InvalidArgument') && e.data.reason === 'grammar', JSON.stringify(bad));
    assert.deepEqual(RESERVED_NAMESPACES, ['model', 'optimizer', 'rng', 'data', 'train']);
    for (const bad of ['model', 'optimizer', 'rng', 'data', 'train', 'model/extra', 'train/x']) {
      assert.throws(() => checkNamespaceName(bad), (e) => isEngramError(e, 'InvalidArgument') && e.data.reason === 'reserved' && /reserved/.test(e.message), bad);
    }
  });

  test('a state with a bad namespace is refused before anything is copied', () => {
    const trainer = new MlpTrainer(5);
    const t = f32([1, 2], [2]);
    const bad: [TrainingState['namespaces'], RegExp][] = [
      [{ model: { tensors: { w: t } } }, /namespace name "model" uses model/],
      [{ 'a//b': { record: 1 } }, /segment ""/],
      [{ ewc: { record: 1 }, 'ewc/task-a': { tensors: { f: t } } }, /namespace ewc\/task-a lies inside namespace ewc/],
      [{ replay: { tensors: { x: { dtype: 'F32', shape: [3], data: t.data } } } }, /tensor x of namespace replay: F32\[3\] needs 12 bytes, got 8/],
      [{ replay: { tensors: { '': t } } }, /every tensor of namespace replay needs a non-empty name/],
      [{ replay: { tensors: { x: { dtype: 'F99' as 'F32', shape: [2], data: t.data } } } }, /unknown dtype/],
      [{ replay: null as never }, /namespace replay must be/],
    ];
    for (const [namespaces, match] of bad) {
      let copies = 0;
      assert.throws(() => encodeTrainingState({ ...trainer.state(), namespaces }, (_n, d) => (copies++, d)), (e) => isEngramError(e, 'InvalidArgument') && match.test(e.message), String(match));
      assert.equal(copies, 0);
    }
  });

  test('through CheckpointManager: namespace tensors are staged (the loop may change them at once) and an unchanged one is deduplicated', async () => {
    const store = new GatedStore(new MemoryStore());
    const repo = await memoryRepo(store);
    const manager = new CheckpointManager(repo, { run: 'cl', async: true, maxInFlight: 2 });
    const trainer = new MlpTrainer(6);
    // 64 Ki floats: above the bundling threshold, so the tensor has chunks of its own.
    const buffer = new Float32Array(64 * 1024).map((_, i) => Math.sin(i));
    const state = (): TrainingState => ({
      ...trainer.state(),
      namespaces: { replay: { tensors: { x: Tensor.fromFloat32(buffer, [256, 256]) }, record: { seen: trainer.step } } },
    });
    const original = Buffer.from(buffer.buffer.slice(0));
    trainer.trainStep();
    store.hold();
    const first = await manager.save(1, state());
    buffer.fill(-1); // after staging, before the commit: the checkpoint keeps the staged bytes
    store.release();
    const a = (await first.durable)!;
    assert.ok(Buffer.from((await a.tensor('replay/x')).data).equals(original));
    buffer.set(new Float32Array(original.buffer.slice(0)));
    trainer.trainStep();
    const b = (await (await manager.save(2, state())).durable)!;
    await manager.close();
    const hashes = (s: typeof a): string[] => s.tensorInfo('replay/x').chunks.map((c) => c.hash);
    assert.ok(hashes(a).length > 0);
    assert.deepEqual(hashes(b), hashes(a), 'the unchanged namespace tensor reuses its chunks');
    assert.notDeepEqual(b.tensorInfo('model/w1').chunks, a.tensorInfo('model/w1').chunks);
    assert.deepEqual((await readTrainingState(b)).namespaces!.replay!.record, { seen: 2 });
  });
});
