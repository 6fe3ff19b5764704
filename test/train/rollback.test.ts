/**
 * Rollback (a run's head moved back as a new event, nothing deleted), the regression guard, and
 * both on a real metric: the MLP fixture's held-out loss, degraded on purpose by a learning rate
 * thirty times too high.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { Tensor } from '../../src/tensor/index.ts';
import { CheckpointManager, guardPromotion, type CheckpointEvent } from '../../src/train/index.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { MlpTrainer } from './fixtures/mlp.ts';

const w = (v: number): Tensor => Tensor.fromFloat32(new Float32Array([v, v]));

async function runOf(repo: Repository, run: string, steps: number[], metric?: (step: number) => number): Promise<string[]> {
  const ids: string[] = [];
  for (const step of steps) ids.push((await repo.save({ run, step, tensors: { 'model/w': w(step) }, metrics: metric ? { val_loss: metric(step) } : {} })).id);
  return ids;
}

describe('Repository.rollback', () => {
  test('moves run@latest back without deleting anything, until a newer save; that save descends from the head', async () => {
    const repo = await Repository.init('memory://', { store: new MemoryStore() });
    const ids = await runOf(repo, 'r', [1, 2, 3, 4, 5]);
    const event = await repo.rollback('r', 'r@2', 'diverged after 2');
    assert.equal(event.target, ids[1]);
    assert.equal(event.previous, ids[4], 'previous is the head before the rollback');
    assert.equal(event.message, 'diverged after 2');
    assert.equal(await repo.resolve('r@latest'), ids[1]);
    assert.equal(await repo.resolve('r@latest~1'), ids[0]);
    assert.equal(await repo.resolve('r@5'), ids[4], 'the abandoned snapshots stay addressable');
    assert.equal((await repo.log('r')).length, 5);
    assert.deepEqual(await repo.runHeads(), new Map([['r', ids[1]]]));
    assert.deepEqual([...(await repo.tags()).keys()], [], 'a head is not a tag');

    // Retention keeps the head as it keeps the newest.
    const plan = await repo.forget({ run: 'r', rules: [{ kind: 'last', n: 1 }] }, { dryRun: true });
    assert.deepEqual(plan.keep.map((d) => [d.step, d.keptBy.map((k) => k.label)]), [
      [2, ['head of run r (rolled back)']], [5, ['last 1', 'newest of run r']],
    ]);

    const next = await repo.save({ run: 'r', tensors: { 'model/w': w(3.5) } });
    assert.equal(next.step, 3, 'the default step follows the head');
    assert.equal(next.parent, ids[1], 'the default parent is the rolled-back head');
    assert.equal(await repo.resolve('r@latest'), next.id);
    assert.equal(await repo.resolve('r@3'), next.id, 'a step saved twice resolves to the newest');
    assert.equal((await repo.snapshot('r@latest~1')).step, 2);

    // A second rollback, to a snapshot abandoned by the first.
    await repo.rollback('r', ids[4]!);
    assert.equal(await repo.resolve('r@latest'), ids[4]);
    assert.deepEqual((await repo.headHistory('r')).map((e) => [e.target, e.previous]), [[ids[1], ids[4]], [ids[4], next.id]]);
    assert.match((await repo.headHistory('r'))[1]!.message, /rollback to r@5/);
  });

  test('refuses a snapshot of another run, an unknown ref and an invalid run name', async () => {
    const repo = await Repository.init('memory://', { store: new MemoryStore() });
    await runOf(repo, 'a', [1]);
    await runOf(repo, 'b', [1]);
    await assert.rejects(repo.rollback('a', 'b@1'), (e) => isEngramError(e, 'InvalidArgument') && /of run b, not of run a/.test(e.message));
    await assert.rejects(repo.rollback('a', 'a@9'), (e) => isEngramError(e, 'NotFound'));
    await assert.rejects(repo.rollback('no such/run', 'a@1'), (e) => isEngramError(e, 'InvalidArgument'));
    assert.equal(await repo.resolve('a@latest'), await repo.resolve('a@1'));
  });
});

describe('guardPromotion', () => {
  test('promotes within the tolerance, refuses a regression beyond it, an unmeasured candidate, and says why', async () => {
    const repo = await Repository.init('memory://', { store: new MemoryStore() });
    const loss: Record<number, number> = { 1: 1.0, 2: 0.5, 3: 0.51, 4: 0.6 };
    const ids = await runOf(repo, 'r', [1, 2, 3, 4], (s) => loss[s]!);
    const unmeasured = (await repo.save({ run: 'r', step: 5, tensors: { 'model/w': w(5) } })).id;

    const first = await guardPromotion(repo, { tag: 'prod', candidate: 'r@1', metric: 'val_loss' });
    assert.equal(first.outcome, 'promoted');
    assert.equal(first.current, null);
    assert.equal((await guardPromotion(repo, { tag: 'prod', candidate: 'r@2', metric: 'val_loss' })).outcome, 'promoted');
    const again = await guardPromotion(repo, { tag: 'prod', candidate: ids[1]!, metric: 'val_loss' });
    assert.equal(again.outcome, 'unchanged');

    const within = await guardPromotion(repo, { tag: 'prod', candidate: 'r@3', metric: 'val_loss', tolerance: 0.02 });
    assert.equal(within.outcome, 'promoted');
    assert.ok(Math.abs(within.regression! - 0.01) < 1e-12);
    assert.equal(await repo.resolve('prod'), ids[2]);

    const beyond = await guardPromotion(repo, { tag: 'prod', candidate: 'r@4', metric: 'val_loss', tolerance: 0.1, relative: true });
    assert.equal(beyond.outcome, 'regression');
    assert.equal(beyond.promoted, false);
    assert.ok(Math.abs(beyond.allowed - 0.051) < 1e-12, 'relative tolerance is 10 % of 0.51');
    assert.match(beyond.message, /refused to move tag prod to r@4 .*val_loss 0\.6 is worse than 0\.51 at r@3/);
    assert.equal(await repo.resolve('prod'), ids[2], 'the tag did not move');

    const none = await guardPromotion(repo, { tag: 'prod', candidate: unmeasured, metric: 'val_loss' });
    assert.equal(none.outcome, 'unmeasured');
    assert.equal((await repo.tagHistory('prod')).length, 3);

    // A maximised metric: lower is the regression.
    assert.equal((await guardPromotion(repo, { tag: 'acc', candidate: 'r@2', metric: 'val_loss', mode: 'max' })).outcome, 'promoted');
    assert.equal((await guardPromotion(repo, { tag: 'acc', candidate: 'r@1', metric: 'val_loss', mode: 'max' })).outcome, 'promoted');
    assert.equal((await guardPromotion(repo, { tag: 'acc', candidate: 'r@4', metric: 'val_loss', mode: 'max' })).outcome, 'regression');
    await assert.rejects(guardPromotion(repo, { tag: 'bad tag', candidate: 'r@1', metric: 'val_loss' }), (e) => isEngramError(e, 'InvalidArgument'));
  });
});

test('on a real training run: best tag, guard refusing a degraded checkpoint, rollback to best, training continues from it', async () => {
  const repo = await Repository.init('memory://', { store: new MemoryStore() });
  const events: CheckpointEvent[] = [];
  const mgr = new CheckpointManager(repo, { run: 'mlp', policies: { kind: 'every-steps', n: 20 }, best: { metric: 'val_loss' }, onEvent: (e) => events.push(e) });
  const trainer = new MlpTrainer(21, { totalSteps: 300 });
  const trainTo = async (last: number): Promise<void> => {
    while (trainer.step < last) {
      trainer.trainStep();
      if (trainer.step % 20 === 0) await mgr.save(trainer.step, trainer.state(), { metrics: trainer.evaluate() });
    }
  };
  await trainTo(100);
  const promoted = await mgr.guardPromotion({ tag: 'prod', metric: 'val_loss', tolerance: 0.02 });
  assert.equal(promoted.outcome, 'promoted');
  const prod = await repo.manifest(await repo.resolve('prod'));
  assert.equal(prod.step, 100);

  trainer.lrScale = 30; // something goes wrong
  await trainTo(140);
  await mgr.wait(); // saves are asynchronous: let the last one commit before reading the repository
  const degraded = await repo.manifest(await repo.resolve('mlp@latest'));
  assert.ok(degraded.metrics.val_loss! > prod.metrics.val_loss! + 0.02, `premise: the loss degraded (${prod.metrics.val_loss} → ${degraded.metrics.val_loss})`);
  const refused = await mgr.guardPromotion({ tag: 'prod', metric: 'val_loss', tolerance: 0.02 });
  assert.equal(refused.outcome, 'regression');
  assert.equal(refused.candidate.step, 140);
  assert.equal(refused.current!.step, 100);
  assert.match(refused.message, /val_loss .* is worse than .* by /);
  assert.equal(await repo.resolve('prod'), prod.id, 'prod did not move');
  assert.deepEqual(events.filter((e) => e.type === 'promotion').map((e) => (e.type === 'promotion' ? e.finding.outcome : '')), ['promoted', 'regression']);

  const best = await repo.manifest(await repo.resolve('tag:best'));
  assert.ok(best.step <= 100, `best is before the degradation (step ${best.step})`);
  const rolled = await mgr.rollback('tag:best', 'val_loss diverged with a 30x learning rate');
  assert.equal(rolled.target, best.id);
  assert.equal(rolled.previous, degraded.id);
  assert.equal(await repo.resolve('mlp@latest'), best.id);

  trainer.load(await mgr.restore('latest', { into: trainer.into() }));
  assert.equal(trainer.step, best.step);
  assert.equal(trainer.lrScale, 1, 'the learning-rate scale came back with the state');
  await trainTo(best.step + 20);
  await mgr.wait();
  const after = await repo.manifest(await repo.resolve('mlp@latest'));
  assert.equal(after.step, best.step + 20);
  assert.equal(after.parent, best.id, 'the new checkpoint descends from the rolled-back head');
  assert.ok(after.metrics.val_loss! < degraded.metrics.val_loss!, 'training recovered');
  assert.equal((await repo.log('mlp')).length, 8, 'nothing was deleted');
  await mgr.close();
});

test('engram rollback and engram log [head]', async () => {
  const work = await tempDir('engram-rollback-');
  const path = join(work, 'repo');
  const repo = await Repository.init(path);
  const ids = await runOf(repo, 'r', [10, 20, 30]);
  await runOf(repo, 'other', [1]);
  await repo.close();

  const json = await runCli(['rollback', 'r', 'r@20', '-m', 'bad data after 20', '--json', '--repo', path]);
  assert.equal(json.code, 0, json.stderr);
  const event = JSON.parse(json.stdout) as { target: string; previous: string; message: string };
  assert.deepEqual([event.target, event.previous, event.message], [ids[1], ids[2], 'bad data after 20']);

  const log = JSON.parse((await runCli(['log', 'r', '--json', '--repo', path])).stdout) as { step: number; head: boolean }[];
  assert.deepEqual(log.map((r) => [r.step, r.head]), [[30, false], [20, true], [10, false]]);
  const text = await runCli(['log', '--repo', path]);
  assert.match(text.stdout, /r@20 \[head\]/);
  assert.match(text.stdout, /other@1 \[head\]/);
  assert.doesNotMatch(text.stdout, /r@30 \[head\]/);
  assert.match((await runCli(['show', 'r@latest', '--repo', path])).stdout, /run {6}r@20/);

  const plain = await runCli(['rollback', 'r', 'r@10', '--repo', path]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /Head of run r -> r@10 \(.*\), was r@20/);
  assert.equal((await runCli(['rollback', 'r', 'other@1', '--repo', path])).code, 2);
  assert.equal((await runCli(['rollback', 'r', 'r@99', '--repo', path])).code, 3);
  assert.equal((await runCli(['rollback', 'r', '--repo', path])).code, 2);
  assert.match((await runCli(['--help'])).stdout, /rollback <run> <ref>/);
  await rm(work, { recursive: true, force: true });
});
