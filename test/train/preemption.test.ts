/**
 * Preemption with a real signal: a training child process gets SIGTERM mid-run; it must finish the
 * save in flight, write a final checkpoint of exactly the step it stopped at, and exit with 143.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Repository } from '../../src/repo/index.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { CheckpointManager, readTrainingState, type CheckpointEvent, type PreemptionOutcome } from '../../src/train/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { GatedStore } from './fixtures/stores.ts';
import { MlpTrainer } from './fixtures/mlp.ts';
import { runChild } from './fixtures/spawn-child.ts';

test('SIGTERM to a training process: in-flight save finished, final checkpoint written, exit code 143', async () => {
  const work = await tempDir('engram-preempt-');
  const path = join(work, 'repo');
  await (await Repository.init(path)).close();
  // Signalled between checkpoints (25 apart), at one, and just after one, while its save is likely in flight.
  for (const signalAt of [137, 150, 151]) {
    const run = `job${signalAt}`;
    const res = await runChild('preempt-child.ts', [path, run, '5'], (step, signal) => {
      if (step === signalAt) signal('SIGTERM');
    });
    assert.equal(res.signal, null, `the child must exit by itself, not die of the signal: ${res.stderr}`);
    assert.equal(res.code, 143, res.stderr);

    const repo = await Repository.open(path);
    const log = await repo.log(run);
    const final = log.at(-1)!;
    assert.ok(final.step >= signalAt && final.step <= res.lastStep, `final step ${final.step}, signalled at ${signalAt}, last printed ${res.lastStep}`);
    // No periodic checkpoint was lost: the one in flight was finished before the final one.
    const periodic = Array.from({ length: Math.floor(final.step / 25) }, (_, i) => (i + 1) * 25);
    assert.deepEqual(log.map((s) => s.step), periodic.at(-1) === final.step ? periodic : [...periodic, final.step]);
    // (When the loop had just committed that very step, the handler reuses it instead of writing it twice.)
    if (final.step % 25 !== 0) assert.match(final.message, /final checkpoint on SIGTERM/);
    assert.equal(final.parent, log.at(-2)!.id);

    // The final checkpoint is exactly the state after final.step steps of the same run.
    const reference = new MlpTrainer(5, { totalSteps: 100_000 });
    while (reference.step < final.step) reference.trainStep();
    const saved = await readTrainingState(await repo.snapshot(`${run}@latest`));
    for (const [name, w] of Object.entries(reference.params)) assert.ok(Buffer.from(saved.model[name]!.data).equals(Buffer.from(w.buffer)), `weight ${name}`);
    assert.equal(saved.optimizer!.step, final.step);
    assert.deepEqual(saved.rng, reference.state().rng);
    assert.deepEqual(saved.data, reference.state().data);
    if (final.step % 25 !== 0) assert.deepEqual(saved.metrics, reference.evaluate());
    assert.equal((await repo.verify()).ok, true);
    await repo.close();
  }
  await rm(work, { recursive: true, force: true });
});

test('handlePreemption with onExit: waits for the save in flight, parks the loop, writes the step it stopped at', async () => {
  const store = new GatedStore(new MemoryStore());
  const repo = await Repository.init('memory://', { store });
  const events: CheckpointEvent[] = [];
  const mgr = new CheckpointManager(repo, { run: 'p', policies: { kind: 'every-steps', n: 4 }, onEvent: (e) => events.push(e) });
  const trainer = new MlpTrainer(9);
  let outcome: PreemptionOutcome | undefined;
  const exited = new Promise<void>((resolve) => {
    mgr.handlePreemption({
      signals: ['SIGUSR2'],
      finalState: () => ({ step: trainer.step, state: trainer.state() }),
      onExit: (o) => {
        outcome = o;
        resolve();
      },
    });
  });
  assert.throws(() => mgr.handlePreemption({ finalState: () => ({ step: 0, state: trainer.state() }) }), /already handles/);
  let parkedAt: number | undefined;
  const loop = (async () => {
    for (;;) {
      trainer.trainStep();
      if (trainer.step === 4) store.hold(); // the save of step 4 stays in flight
      if (trainer.step === 6) process.kill(process.pid, 'SIGUSR2');
      const h = await mgr.save(trainer.step, trainer.state());
      if (mgr.preempted) {
        if (!h.saved) parkedAt = h.step;
        return;
      }
    }
  })();
  while (!events.some((e) => e.type === 'preempted')) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(outcome, undefined, 'the handler waits for the save in flight');
  assert.equal(events.filter((e) => e.type === 'committed').length, 0);
  store.release();
  await exited;
  await loop;
  assert.equal(outcome!.signal, 'SIGUSR2');
  assert.equal(outcome!.exitCode, 128 + constants.signals.SIGUSR2);
  assert.equal(outcome!.error, undefined);
  const final = outcome!.snapshot!;
  assert.equal(final.step, trainer.step, 'the final checkpoint is the step the loop stopped at');
  assert.equal(parkedAt, trainer.step, 'the loop was parked in save() at that step');
  assert.ok(final.step >= 6 && final.step <= 8, `final step ${final.step}`);
  assert.match(final.message, /final checkpoint on SIGUSR2/);
  assert.deepEqual(events.filter((e) => e.type === 'committed').map((e) => (e.type === 'committed' ? e.step : 0)), [4, final.step]);
  assert.equal(final.parent, await repo.resolve('p@4'));
  assert.deepEqual(events.filter((e) => e.type === 'preempted'), [{ type: 'preempted', signal: 'SIGUSR2' }]);
  assert.equal(process.listenerCount('SIGUSR2'), 0, 'the handler is removed once done');
  await mgr.close();
});
