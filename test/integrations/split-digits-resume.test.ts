/**
 * The resume test: a (short) Split-Digits replay+EWC run — TF.js on the wasm backend,
 * asynchronous checkpoints through CheckpointManager's commit thread — is SIGKILLed at 24 random
 * instants spread over the run (mid-task, at task boundaries, while an asynchronous save commits)
 * and resumed after each; its final checkpoint is bit-identical to an uninterrupted run with the
 * same seed: weights, Adam's state, the replay buffer's contents and RNG, the Fisher and anchors,
 * the task registry's R matrix, every tensor and record.
 *
 * The instants are chosen by work, never by a clock: a kill is sent when the child reports a step
 * (a seeded random one), either while the child blocks its main thread right after that step's
 * save() returned (so the save is still committing on the commit thread) or while it runs on (so
 * the kill lands somewhere in the next step: its batch, its save, or a task end's Fisher).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ewc, ReplayBuffer, TaskRegistry } from '../../src/continual/index.ts';
import { useWasmBackend } from '../../src/integrations/tfjs/index.ts';
import { Repository, type Snapshot } from '../../src/repo/index.ts';
import { CheckpointManager, readTrainingState, Rng } from '../../src/train/index.ts';
import { SplitDigitsRun } from '../../demo/continual/split-digits-run.ts';
import { trainSplitDigits } from '../../demo/continual/train-split-digits.ts';
import { tempDir } from '../helpers/cli.ts';
import { runChild } from '../train/fixtures/spawn-child.ts';
import { EVERY, SHORT_RUN } from './fixtures/split-digits-short.ts';

const KILLS = 24;
const CHILD = '../../integrations/fixtures/split-digits-child.ts';

async function assertSameBytes(a: Snapshot, b: Snapshot, label: string): Promise<void> {
  assert.deepEqual(b.tensorNames(), a.tensorNames(), label);
  for (const name of a.tensorNames()) {
    const [x, y] = [await a.tensor(name), await b.tensor(name)];
    assert.equal(y.dtype, x.dtype, `${label}: ${name}`);
    assert.deepEqual(y.shape, x.shape, `${label}: ${name}`);
    assert.ok(Buffer.from(x.data).equals(Buffer.from(y.data)), `${label}: tensor ${name} differs`);
  }
  assert.deepEqual(b.blobNames().sort(), a.blobNames().sort(), label);
  for (const name of a.blobNames()) assert.ok(Buffer.from(await a.blob(name)).equals(Buffer.from(await b.blob(name))), `${label}: blob ${name} differs`);
}

test(`a Split-Digits replay+EWC run SIGKILLed at ${KILLS} instants and resumed ends bit-identical to the uninterrupted run`, async () => {
  await useWasmBackend();
  const work = await tempDir('engram-split-digits-resume-');
  const repoPath = join(work, 'repo');
  const repo = await Repository.init(repoPath);

  // The uninterrupted run, in this process, with the same manager settings.
  const probe = new SplitDigitsRun(SHORT_RUN);
  const ends = probe.taskEndSteps;
  probe.dispose();
  const total = ends.at(-1)!;
  const manager = new CheckpointManager(repo, { run: 'reference', async: true, maxInFlight: 1, policies: { kind: 'every-steps', n: EVERY } });
  const reference = await trainSplitDigits(SHORT_RUN, { manager, every: EVERY });
  await manager.close();
  assert.equal(reference.step, total);

  // Kill instants: seeded, spread over the run, a third at task ends (the boundary step itself
  // while its save commits, or the step before it, so the kill lands in the boundary's Fisher).
  const rng = new Rng(2026);
  const plan = Array.from({ length: KILLS }, (_, i) => {
    const mode = i % 2 === 0 ? 'pause' : 'run';
    const at = i % 3 === 0 ? ends[rng.int(ends.length - 1)]! - (mode === 'run' ? 1 : 0) : 1 + rng.int(total - 1);
    return { at, mode };
  }).sort((a, b) => a.at - b.at);

  const history: string[] = [];
  const resumedFrom: number[] = [];
  let resumed = 0;
  for (const [attempt, { at, mode }] of plan.entries()) {
    // Never before where this attempt starts: the kill must land in this process's own work.
    const k = Math.min(Math.max(at, resumed + 1), total - 1);
    const res = await runChild(CHILD, [repoPath, 'killed', mode, String(k)], (step, signal) => {
      if (step === k) signal('SIGKILL');
    });
    history.push(`#${attempt} ${mode} ${k}: resumed ${res.resumedFrom ?? '-'}, reached ${res.lastStep}, ${res.signal ?? res.code}`);
    // A child running on may, rarely, finish the run before the signal lands: that is an instant too.
    assert.ok(res.signal === 'SIGKILL' || (res.code === 0 && mode === 'run'), `${history.join('; ')}\n${res.stderr}`);
    assert.ok(res.lastStep >= k, history.at(-1));
    if (attempt > 0) assert.notEqual(res.resumedFrom, undefined, `attempt ${attempt} started from scratch: ${history.join('; ')}`);
    if (res.resumedFrom !== undefined) resumedFrom.push(res.resumedFrom);
    resumed = res.resumedFrom ?? 0;
  }
  const last = await runChild(CHILD, [repoPath, 'killed', 'run']);
  history.push(`final: resumed ${last.resumedFrom}, reached ${last.lastStep}, ${last.signal ?? last.code}`);
  assert.equal(last.code, 0, `${history.join('; ')}\n${last.stderr}`);
  assert.match(last.stdout, /done\n$/);
  // Kills landed mid-task and at task ends, and the restarts resumed from checkpoints all over the run.
  assert.ok(plan.some((p) => ends.includes(p.at)) && plan.some((p) => ends.includes(p.at + 1)), history.join('; '));
  assert.ok(new Set(resumedFrom).size >= 8, `resumed from only ${[...new Set(resumedFrom)].join(', ')}`);

  const refSnap = await repo.snapshot(`reference@${total}`);
  const gotSnap = await repo.snapshot(`killed@${total}`);
  await assertSameBytes(refSnap, gotSnap, history.join('; '));

  // What the bytes hold, by meaning: the buffer's contents and RNG, the Fisher and anchors, R.
  const [ref, got] = [await readTrainingState(refSnap), await readTrainingState(gotSnap)];
  const ns = got.namespaces!;
  assert.deepEqual(Object.keys(ns).sort(), Object.keys(ref.namespaces!).sort());
  const buffer = ReplayBuffer.fromNamespace(ns['replay']!);
  assert.equal(buffer.size, SHORT_RUN.bufferCapacity);
  const want = reference.buffer!.contents();
  for (const [field, t] of Object.entries(buffer.contents())) assert.ok(Buffer.from(t.data).equals(Buffer.from(want[field]!.data)), `buffer field ${field}`);
  // The same next draws: the buffer RNG resumed too.
  const [a, b] = [buffer.sample(8), reference.buffer!.sample(8)];
  assert.ok(Buffer.from(a['y']!.data).equals(Buffer.from(b['y']!.data)) && Buffer.from(a['x']!.data).equals(Buffer.from(b['x']!.data)), 'next replay draws');
  const ewc = Ewc.fromNamespaces(ns)!;
  assert.deepEqual(ewc.tasks, reference.ewc!.tasks);
  assert.equal(ewc.tasks.length, ends.length);
  const terms = ewc.terms();
  reference.ewc!.terms().forEach((term, i) => {
    for (const part of ['fisher', 'anchor'] as const) {
      for (const [w, t] of Object.entries(term[part])) assert.ok(Buffer.from(terms[i]![part][w]!.data).equals(Buffer.from(t.data)), `ewc term ${i} ${part} ${w}`);
    }
  });
  const registry = TaskRegistry.fromNamespace(ns['tasks']!);
  assert.deepEqual(registry.matrix(), reference.registry.matrix());
  assert.equal(registry.matrix().length, ends.length);
  assert.deepEqual(got.optimizer!.step, total);
  reference.dispose();

  const report = await repo.verify();
  assert.equal(report.ok, true, JSON.stringify(report.findings.slice(0, 3)));
  await repo.close();
  await rm(work, { recursive: true, force: true });
});
