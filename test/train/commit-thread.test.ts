import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Repository } from '../../src/repo/index.ts';
import { CheckpointManager, readTrainingState, type CheckpointEvent, type TrainingState } from '../../src/train/index.ts';

/** A state whose every value names its step, overwritten in place like a model's buffers. */
function toyState(buf: Float32Array, step: number): TrainingState {
  buf.fill(step);
  return {
    model: { w: { dtype: 'F32', shape: [buf.length], data: new Uint8Array(buf.buffer) } },
    optimizer: { step, slots: [] },
    user: { step },
  };
}

test('on a local repository, async saves commit on their own thread, each exactly the state it staged', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'engram-commit-thread-'));
  try {
    const repo = await Repository.init(join(dir, 'repo'));
    const events: CheckpointEvent[] = [];
    const manager = new CheckpointManager(repo, { run: 'toy', maxInFlight: 2, best: { metric: 'loss' }, retention: [{ kind: 'last', n: 3 }], onEvent: (e) => events.push(e) });
    const w = new Float32Array(300_000); // 1.2 MB: chunked, so the thread codes and writes real chunks
    const handles = [];
    for (let step = 1; step <= 6; step++) {
      handles.push(await manager.save(step, toyState(w, step), { metrics: { loss: 10 - step } }));
      // Training goes on at once and overwrites the buffers the save staged.
      w.fill(-1);
    }
    const snaps = await Promise.all(handles.map((h) => h.durable));
    await manager.close();
    assert.deepEqual(snaps.map((s) => s?.step), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(events.filter((e) => e.type === 'committed').map((e) => (e as { step: number }).step), [1, 2, 3, 4, 5, 6]);
    assert.ok(events.some((e) => e.type === 'retention'), 'retention ran on the commit thread');
    assert.equal(events.filter((e) => e.type === 'best').length, 6);

    const fresh = await Repository.open(join(dir, 'repo'));
    assert.deepEqual((await fresh.log('toy')).map((s) => s.step), [4, 5, 6]);
    assert.equal(await fresh.resolve('tag:best'), snaps[5]!.id);
    for (const s of snaps.slice(3)) {
      const restored = await readTrainingState(await fresh.snapshot(s!.id));
      const values = new Float32Array(restored.model['w']!.data.slice().buffer);
      assert.ok(values.every((v) => v === s!.step), `step ${s!.step} holds another step's values`);
      assert.equal(restored.step, s!.step);
    }
    // Each snapshot's parent is the one committed before it.
    assert.equal(snaps[5]!.parent, snaps[4]!.id);
    assert.equal((await fresh.verify()).ok, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ready() resolves once the commit thread has opened the repository, and rejects when it cannot', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'engram-commit-ready-'));
  try {
    const repo = await Repository.init(join(dir, 'repo'));
    const manager = new CheckpointManager(repo, { run: 'toy' });
    await manager.ready();
    const h = await manager.save(1, toyState(new Float32Array(8), 1));
    assert.equal((await h.durable)?.step, 1);
    await manager.close();

    // The thread opens the repository by its path: once that is no repository, it cannot start.
    await rm(join(dir, 'repo'), { recursive: true, force: true });
    const orphan = new CheckpointManager(repo, { run: 'toy' });
    await assert.rejects(orphan.ready(), (e: Error & { code?: string }) => e.code === 'IOError' && /commit thread could not open/.test(e.message));
    await orphan.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('fsync: false commits on the thread all the same: every step restores exactly, and verify is clean', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'engram-commit-nofsync-'));
  try {
    const repo = await Repository.init(join(dir, 'repo'));
    const manager = new CheckpointManager(repo, { run: 'toy', fsync: false, maxInFlight: 2 });
    await manager.ready();
    const w = new Float32Array(100_000);
    for (let step = 1; step <= 4; step++) await manager.save(step, toyState(w, step));
    await manager.close();
    const fresh = await Repository.open(join(dir, 'repo'));
    for (let step = 1; step <= 4; step++) {
      const state = await readTrainingState(await fresh.snapshot(`toy@${step}`));
      assert.ok(new Float32Array(state.model['w']!.data.slice().buffer).every((v) => v === step), `step ${step}`);
    }
    assert.equal((await fresh.verify()).ok, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
