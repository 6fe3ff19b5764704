/**
 * The resume test: a (short) Split-Digits replay+EWC run — TF.js on the wasm backend,
 * asynchronous checkpoints through CheckpointManager's commit thread — is SIGKILLed at 24 random
 * instants spread over the run (mid-task, at task boundaries, while an asynchronous save commits)
 * and resumed after each; its final checkpoint is bit-identical to an uninterrupted run with the
 * same seed: weights, Adam's state, the replay buffer's contents and RNG, the Fisher and anchors,
 * the task registry's R matrix, every tensor and record. The uninterrupted run is a child too.
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
import { Repository } from '../../src/repo/index.ts';
import { readTrainingState, Rng } from '../../src/train/index.ts';
import { taskEndSteps } from '../../demo/continual/split-digits-run.ts';
import { tempDir } from '../helpers/cli.ts';
import { assertSameSnapshotBytes } from '../helpers/same-snapshot-bytes.ts';
import { runChild } from '../train/fixtures/spawn-child.ts';
import { EVERY, SHORT_RUN } from './fixtures/split-digits-short.ts';

const KILLS = 20;

/** The newest committed step of run `killed`, read by a fresh open (undefined when it has none). */
async function latestStep(path: string): Promise<number | undefined> {
  const r = await Repository.open(path);
  try {
    return (await r.log('killed')).length === 0 ? undefined : (await r.manifest(await r.resolve('killed@latest'))).step;
  } finally {
    await r.close();
  }
}
const CHILD = '../../integrations/fixtures/split-digits-child.ts';

test(`a Split-Digits replay+EWC run SIGKILLed at ${KILLS} instants and resumed ends bit-identical to the uninterrupted run`, async () => {
  const work = await tempDir('engram-split-digits-resume-');
  const repoPath = join(work, 'repo');
  const repo = await Repository.init(repoPath);

  // The uninterrupted run: a child like the others (a fresh process: TF.js names a model's
  // variables, and so its optimizer slots, after the models built before it in the process).
  const ends = taskEndSteps(SHORT_RUN);
  const total = ends.at(-1)!;
  const uninterrupted = await runChild(CHILD, [repoPath, 'reference', 'run']);
  assert.equal(uninterrupted.code, 0, uninterrupted.stderr);
  assert.equal(uninterrupted.lastStep, total);

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
    const latest = await latestStep(repoPath);
    const res = await runChild(CHILD, [repoPath, 'killed', mode, String(k)], (step, signal) => {
      if (step === k) signal('SIGKILL');
    });
    history.push(`#${attempt} ${mode} ${k}: resumed ${res.resumedFrom ?? '-'}, reached ${res.lastStep}, ${res.signal ?? res.code}`);
    // A child running on may, rarely, finish the run before the signal lands: that is an instant too.
    assert.ok(res.signal === 'SIGKILL' || (res.code === 0 && mode === 'run'), `${history.join('; ')}\n${res.stderr}`);
    assert.ok(res.lastStep >= k, history.at(-1));
    // It resumed from the newest checkpoint the killed attempts committed (from scratch if none had).
    assert.equal(res.resumedFrom, latest, `attempt ${attempt}: ${history.join('; ')}`);
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
  await assertSameSnapshotBytes(refSnap, gotSnap, history.join('; '));

  // What the bytes hold, by meaning: the buffer's contents and RNG, the Fisher and anchors, R.
  const [ref, got] = [await readTrainingState(refSnap), await readTrainingState(gotSnap)];
  const [rns, ns] = [ref.namespaces!, got.namespaces!];
  assert.deepEqual(Object.keys(ns).sort(), Object.keys(rns).sort());
  const [wantBuffer, buffer] = [ReplayBuffer.fromNamespace(rns['replay']!), ReplayBuffer.fromNamespace(ns['replay']!)];
  assert.equal(buffer.size, SHORT_RUN.bufferCapacity);
  assert.deepEqual(buffer.countsByClass(), wantBuffer.countsByClass());
  const want = wantBuffer.contents();
  for (const [field, t] of Object.entries(buffer.contents())) assert.ok(Buffer.from(t.data).equals(Buffer.from(want[field]!.data)), `buffer field ${field}`);
  // The same next draws: the buffer RNG resumed too.
  const [a, b] = [buffer.sample(8), wantBuffer.sample(8)];
  assert.ok(Buffer.from(a['y']!.data).equals(Buffer.from(b['y']!.data)) && Buffer.from(a['x']!.data).equals(Buffer.from(b['x']!.data)), 'next replay draws');
  const [wantEwc, ewc] = [Ewc.fromNamespaces(rns)!, Ewc.fromNamespaces(ns)!];
  assert.deepEqual(ewc.tasks, wantEwc.tasks);
  assert.equal(ewc.tasks.length, ends.length);
  const terms = ewc.terms();
  wantEwc.terms().forEach((term, i) => {
    for (const part of ['fisher', 'anchor'] as const) {
      for (const [w, t] of Object.entries(term[part])) assert.ok(Buffer.from(terms[i]![part][w]!.data).equals(Buffer.from(t.data)), `ewc term ${i} ${part} ${w}`);
    }
  });
  const registry = TaskRegistry.fromNamespace(ns['tasks']!);
  assert.deepEqual(registry.matrix(), TaskRegistry.fromNamespace(rns['tasks']!).matrix());
  assert.ok(registry.matrix()[ends.length - 1]!.every((v) => typeof v === 'number'), 'R has its last row');
  assert.equal(got.optimizer!.step, total);
  assert.deepEqual(got.rng, ref.rng);

  const report = await repo.verify();
  assert.equal(report.ok, true, JSON.stringify(report.findings.slice(0, 3)));
  await repo.close();
  await rm(work, { recursive: true, force: true });
});
