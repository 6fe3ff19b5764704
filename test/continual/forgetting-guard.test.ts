/**
 * guardForgetting on a real fs repository through CheckpointManager: promotes when no earlier task
 * fell beyond the tolerance, refuses (tag unchanged) naming the task and the drop, honours
 * maxForgetting; describeContinualState reads every continual namespace of a checkpoint.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeContinualState, Ewc, guardForgetting, ReplayBuffer, TaskRegistry } from '../../src/continual/index.ts';
import { isEngramError } from '../../src/errors/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { CheckpointManager, Rng } from '../../src/train/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { batchOf, bytes, FIELDS } from './helpers.ts';

const model = { w: { dtype: 'F32' as const, shape: [3], data: bytes(Float32Array.of(1, 2, 3)) } };

/** A registry of three tasks with R rows as given (null: not recorded). */
function registry(rows: (number | null)[][]): TaskRegistry {
  const reg = new TaskRegistry();
  for (const [i] of rows.entries()) reg.addTask({ id: `t${i}`, classes: [2 * i, 2 * i + 1] });
  for (const [i, row] of rows.entries()) for (const [j, v] of row.entries()) if (v !== null) reg.recordAccuracy(`t${i}`, `t${j}`, v);
  return reg;
}

test('promotes a run that kept its earlier tasks; refuses one that forgot, naming the task and the drop; the tag stays', async () => {
  const repo = await Repository.init(await tempDir('engram-guard-'));
  const replay = new CheckpointManager(repo, { run: 'replay', async: false });
  const naive = new CheckpointManager(repo, { run: 'naive', async: false });
  await replay.save(3, { model, namespaces: { tasks: registry([[0.99, null, null], [0.97, 0.98, null], [0.96, 0.95, 0.97]]).toNamespace() } });
  await naive.save(3, { model, namespaces: { tasks: registry([[0.99, null, null], [0.40, 0.98, null], [0.10, 0.30, 0.99]]).toNamespace() } });

  const ok = await guardForgetting(repo, { tag: 'prod', candidate: 'replay@latest', tolerance: 0.05 });
  assert.equal(ok.outcome, 'promoted');
  assert.equal(ok.promoted, true);
  assert.equal(await repo.resolve('prod'), await repo.resolve('replay@3'));
  assert.equal(ok.lastTask, 't2');
  assert.equal(ok.worst?.task, 't0');
  assert.ok(Math.abs(ok.worst!.drop - 0.03) < 1e-12);

  const refused = await guardForgetting(repo, { tag: 'prod', candidate: 'naive@latest', tolerance: 0.05 });
  assert.equal(refused.outcome, 'forgotten');
  assert.equal(refused.promoted, false);
  assert.equal(refused.worst?.task, 't0');
  assert.ok(Math.abs(refused.worst!.drop - 0.89) < 1e-12);
  assert.deepEqual(refused.forgotten.map((f) => f.task), ['t0', 't1']);
  assert.match(refused.message, /task t0 fell from 0\.99 \(after t0\) to 0\.1 after t2, a drop of 0\.89/);
  assert.equal(await repo.resolve('prod'), await repo.resolve('replay@3'), 'the tag stays where it was');

  // F alone: F(naive) = (0.89 + 0.68) / 2 = 0.785.
  const byF = await guardForgetting(repo, { tag: 'f', candidate: 'naive@latest', maxForgetting: 0.5 });
  assert.equal(byF.outcome, 'forgotten');
  assert.equal(byF.tolerance, null);
  assert.ok(Math.abs(byF.measures!.forgetting! - 0.785) < 1e-12);
  assert.match(byF.message, /mean forgetting F = 0\.785 exceeds 0\.5; task t0 fell the most, by 0\.89/);
  assert.equal(await repo.refs.resolve('f'), undefined);
  const lenient = await guardForgetting(repo, { tag: 'f', candidate: 'naive@latest', maxForgetting: 0.9 });
  assert.equal(lenient.outcome, 'promoted');

  const again = await guardForgetting(repo, { tag: 'prod', candidate: 'replay@3' });
  assert.equal(again.outcome, 'unchanged');
  await replay.close();
  await naive.close();
});

test('unmeasured candidates are refused; bad options are InvalidArgument; an unknown candidate NotFound', async () => {
  const repo = await Repository.init(await tempDir('engram-guard-bad-'));
  const m = new CheckpointManager(repo, { run: 'r', async: false });
  await m.save(1, { model });
  await m.save(2, { model, namespaces: { tasks: registry([[null]]).toNamespace() } });
  assert.equal((await guardForgetting(repo, { tag: 'prod', candidate: 'r@1' })).outcome, 'unmeasured');
  const empty = await guardForgetting(repo, { tag: 'prod', candidate: 'r@2' });
  assert.equal(empty.outcome, 'unmeasured');
  assert.match(empty.message, /no recorded accuracy/);
  assert.equal(await repo.refs.resolve('prod'), undefined);
  await assert.rejects(guardForgetting(repo, { tag: 'prod', candidate: 'r@2', tolerance: -1 }), (e: unknown) => isEngramError(e, 'InvalidArgument'));
  await assert.rejects(guardForgetting(repo, { tag: 'prod', candidate: 'r@9' }), (e: unknown) => isEngramError(e, 'NotFound'));
  await m.close();
});

test('describeContinualState lists the buffer (kind, size, examples per class), EWC tasks and the task registry', async () => {
  const repo = await Repository.init(await tempDir('engram-describe-'));
  const m = new CheckpointManager(repo, { run: 'r', async: false });
  const buffer = new ReplayBuffer({ kind: 'class-balanced', capacity: 30, seed: 2, fields: FIELDS, labelField: 'y' });
  buffer.admit(batchOf(new Rng(1), 0, 100, 4));
  const ewc = new Ewc({ lambda: 5, mode: 'online', gamma: 0.8 });
  ewc.consolidate('t0', model, model);
  ewc.consolidate('t1', model, model);
  const reg = registry([[0.9, null], [0.7, 0.95]]);
  await m.save(1, { model, namespaces: { replay: buffer.toNamespace(), ...ewc.toNamespaces(), tasks: reg.toNamespace() } });
  buffer.admit(batchOf(new Rng(2), 100, 50, 4));
  await m.save(2, { model, namespaces: { replay: buffer.toNamespace(), ...ewc.toNamespaces(), tasks: reg.toNamespace() } });
  const s = await describeContinualState(await repo.snapshot('r@2'));
  assert.equal(s.replay.length, 1);
  const r = s.replay[0]!;
  assert.deepEqual([r.namespace, r.kind, r.capacity, r.size, r.seen, r.labelField], ['replay', 'class-balanced', 30, 30, 150, 'y']);
  assert.deepEqual(r.countsByClass, buffer.countsByClass());
  assert.deepEqual(s.ewc, { mode: 'online', lambda: 5, gamma: 0.8, tasks: ['t0', 't1'], namespaces: ['ewc/online'], weights: ['w'] });
  assert.deepEqual(s.tasks?.tasks.map((t) => t.id), ['t0', 't1']);
  assert.deepEqual(s.tasks?.matrix, [[0.9, null], [0.7, 0.95]]);
  assert.deepEqual(s.tasks?.measures, reg.measures());
  const none = await describeContinualState(await (async () => {
    await m.save(3, { model });
    return repo.snapshot('r@3');
  })());
  assert.deepEqual(none, { snapshot: none.snapshot, replay: [], ewc: null, tasks: null });
  await m.close();
});
