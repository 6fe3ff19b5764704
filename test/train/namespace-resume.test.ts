/**
 * A training state with extension namespaces — a replay buffer (a tensor group and a JSON record)
 * and a task registry (a record) — survives SIGKILL and resume bit-exactly through
 * CheckpointManager: the run killed at chosen steps and restarted ends with the very bytes of the
 * uninterrupted run, namespaces included, with synchronous and asynchronous (staged, commit thread)
 * saves.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Repository } from '../../src/repo/index.ts';
import { readTrainingState } from '../../src/train/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { assertSameSnapshotBytes } from '../helpers/same-snapshot-bytes.ts';
import { runReplayTraining } from './fixtures/replay-loop.ts';
import { runChild } from './fixtures/spawn-child.ts';

const STEPS = 120;
const EVERY = 10;
const SEED = 23;
/** Where each attempt stops to be killed: between checkpoints, then right after a checkpoint is staged. */
const KILL_AT = [35, 70];

test('a state with a replay namespace (tensors + record) and a tasks record survives SIGKILL and resume bit-exactly', async () => {
  const work = await tempDir('engram-ns-resume-');
  const repoPath = join(work, 'repo');
  const repo = await Repository.init(repoPath);

  const reference = await runReplayTraining({ repo, run: 'reference', seed: SEED, steps: STEPS, every: EVERY, async: true });
  const refSnap = await repo.snapshot(`reference@${STEPS}`);
  assert.ok(refSnap.tensorNames().includes('replay/x') && refSnap.tensorNames().includes('replay/y'));
  assert.ok(refSnap.blobNames().includes('replay') && refSnap.blobNames().includes('tasks'));
  // The checkpoint holds the trainer's real final state, namespaces included.
  const refState = await readTrainingState(refSnap);
  assert.ok(Buffer.from(refState.namespaces!.replay!.tensors.x!.data).equals(Buffer.from(reference.replay.x.buffer)));
  assert.ok(Buffer.from(refState.namespaces!.replay!.tensors.y!.data).equals(Buffer.from(reference.replay.y.buffer)));
  assert.deepEqual(refState.namespaces!.replay!.record, { size: 48, seen: STEPS, rng: reference.replay.rng.getState() });
  assert.deepEqual(refState.namespaces!.tasks, { tensors: {}, record: { current: 'b', order: ['a', 'b'], switchedAt: [0, 60] } });

  for (const mode of ['async', 'sync']) {
    const run = `killed-${mode}`;
    const history: string[] = [];
    let killed = 0;
    const resumedFrom: number[] = [];
    for (let attempt = 0; ; attempt++) {
      const pauseAt = KILL_AT[attempt];
      const args = [repoPath, run, String(SEED), String(STEPS), String(EVERY), mode, ...(pauseAt !== undefined ? [String(pauseAt)] : [])];
      const res = await runChild('replay-child.ts', args, (step, signal) => {
        if (step === pauseAt) signal('SIGKILL');
      });
      history.push(`attempt ${attempt}: resumed ${res.resumedFrom ?? '-'}, reached ${res.lastStep}, ${res.signal ?? res.code}`);
      if (res.resumedFrom !== undefined) resumedFrom.push(res.resumedFrom);
      if (pauseAt !== undefined) {
        assert.equal(res.signal, 'SIGKILL', `${run}: ${history.join('; ')}\n${res.stderr}`);
        assert.equal(res.lastStep, pauseAt);
        killed++;
        continue;
      }
      assert.equal(res.code, 0, `${run}: ${history.join('; ')}\n${res.stderr}`);
      assert.match(res.stdout, /done\n$/);
      break;
    }
    assert.equal(killed, KILL_AT.length);
    // Each restart resumed from a checkpoint of the killed attempt, never from scratch. A synchronous
    // save has committed when save() returns: the restarts resume at 30 and 70. An asynchronous one
    // may still be committing (one in flight at most): at 20 or 30, then at 60 or 70.
    if (mode === 'sync') assert.deepEqual(resumedFrom, [30, 70], history.join('; '));
    else assert.ok([20, 30].includes(resumedFrom[0]!) && [60, 70].includes(resumedFrom[1]!), history.join('; '));
    await assertSameSnapshotBytes(refSnap, await repo.snapshot(`${run}@${STEPS}`), `${run} (${history.join('; ')})`);
  }
  const report = await repo.verify();
  assert.equal(report.ok, true, JSON.stringify(report.findings.slice(0, 3)));
  await repo.close();
  await rm(work, { recursive: true, force: true });
});
