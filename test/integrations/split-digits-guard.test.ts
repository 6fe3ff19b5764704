/**
 * The forgetting guard on real Split-Digits checkpoints (TF.js on the wasm backend, class-
 * incremental, the benchmark's settings, trained to the end of task 3): after task 3 it refuses the naive run's checkpoint, naming the task
 * that was forgotten and by how much, and leaves the tag where it was; it promotes the replay run's
 * checkpoint of the same step.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { guardForgetting, readTaskRegistry } from '../../src/continual/index.ts';
import { useWasmBackend } from '../../src/integrations/tfjs/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { CheckpointManager } from '../../src/train/index.ts';
import { SPLIT_DIGITS_CONFIG, taskEndSteps, type Method, type SplitDigitsConfig } from '../../demo/continual/split-digits-run.ts';
import { trainSplitDigits } from '../../demo/continual/train-split-digits.ts';
import { tempDir } from '../helpers/cli.ts';

/** How far below its best an earlier task may fall before the guard refuses. */
const TOLERANCE = 0.2;

test('the forgetting guard refuses the naive run after task 3, naming the forgotten task, and promotes the replay run', async () => {
  await useWasmBackend();
  const work = await tempDir('engram-split-digits-guard-');
  const repo = await Repository.init(join(work, 'repo'));
  // The benchmark's settings (a 200-example buffer), trained up to the end of task 3; checkpoints at task ends.
  const config = (method: Method): SplitDigitsConfig => ({ ...SPLIT_DIGITS_CONFIG, seed: 11, scenario: 'class', method });
  const ends = taskEndSteps(config('naive'));
  for (const method of ['naive', 'replay'] as const) {
    const manager = new CheckpointManager(repo, { run: method, async: false, policies: [] });
    (await trainSplitDigits(config(method), { manager, untilStep: ends[2] })).dispose();
    await manager.close();
  }
  const afterTask = (run: string, k: number): string => `${run}@${ends[k - 1]}`;

  // The replay run after task 2 holds the tag first.
  const first = await guardForgetting(repo, { tag: 'prod', candidate: afterTask('replay', 2), tolerance: TOLERANCE });
  assert.equal(first.outcome, 'promoted', first.message);
  const before = (await repo.tags()).get('prod');

  const naive = await guardForgetting(repo, { tag: 'prod', candidate: afterTask('naive', 3), tolerance: TOLERANCE });
  assert.equal(naive.outcome, 'forgotten', naive.message);
  assert.equal(naive.promoted, false);
  assert.equal(naive.lastTask, 'digits-4-5');
  // The finding names what was forgotten, from the checkpoint's own R matrix.
  const r = (await readTaskRegistry(await repo.snapshot(afterTask('naive', 3))))!.matrix();
  const drops = [0, 1].map((j) => Math.max(r[0]![j] ?? -1, r[1]![j] ?? -1) - r[2]![j]!);
  const ids = ['digits-0-1', 'digits-2-3'];
  const beyond = ids.filter((_, j) => drops[j]! > TOLERANCE);
  assert.ok(beyond.length > 0, `naive forgot an earlier task: drops ${drops.join(', ')}`);
  assert.deepEqual(naive.forgotten.map((f) => f.task).sort(), beyond);
  const worst = drops[0]! >= drops[1]! ? 0 : 1;
  assert.equal(naive.worst!.task, ids[worst]);
  assert.ok(Math.abs(naive.worst!.drop - drops[worst]!) < 1e-12);
  assert.match(naive.message, new RegExp(naive.worst!.task));
  assert.equal((await repo.tags()).get('prod'), before, 'the tag stays where it was');

  const replay = await guardForgetting(repo, { tag: 'prod', candidate: afterTask('replay', 3), tolerance: TOLERANCE });
  assert.equal(replay.outcome, 'promoted', replay.message);
  assert.equal((await repo.tags()).get('prod'), (await repo.snapshot(afterTask('replay', 3))).id);
  assert.ok(replay.measures!.forgetting! < naive.measures!.forgetting!);
  await repo.close();
  await rm(work, { recursive: true, force: true });
});
