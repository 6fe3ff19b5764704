/**
 * Deterministic resume: the MLP fixture trained uninterrupted must end bit-identical — weights,
 * Adam slots and step, RNG states, data position, LR schedule, metrics history — to the same run
 * SIGKILLed at random steps (mid-step or mid-save) and restarted, each restart resuming from the
 * latest checkpoint, with synchronous and with asynchronous saving.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { test } from 'node:test';
import { Repository, type Snapshot } from '../../src/repo/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { rng } from '../helpers/weights.ts';
import { runChild } from './fixtures/spawn-child.ts';
import { runTraining } from './fixtures/train-loop.ts';

const STEPS = 200;
const EVERY = 10;
const SEED = 11;
const TRIALS = 4;
const KILLS_PER_TRIAL = 2;

async function assertSameState(a: Snapshot, b: Snapshot, label: string): Promise<void> {
  assert.deepEqual(b.tensorNames(), a.tensorNames(), label);
  for (const name of a.tensorNames()) {
    const [x, y] = [await a.tensor(name), await b.tensor(name)];
    assert.equal(y.dtype, x.dtype);
    assert.deepEqual(y.shape, x.shape);
    assert.ok(Buffer.from(x.data).equals(Buffer.from(y.data)), `${label}: tensor ${name} differs`);
  }
  assert.deepEqual(b.blobNames().sort(), a.blobNames().sort(), label);
  for (const name of a.blobNames()) {
    assert.ok(Buffer.from(await a.blob(name)).equals(Buffer.from(await b.blob(name))), `${label}: blob ${name} differs`);
  }
}

test(`training SIGKILLed at random steps resumes bit-identical (${TRIALS} trials, sync and async saves)`, async () => {
  const work = await tempDir('engram-resume-');
  const repoPath = join(work, 'repo');
  const repo = await Repository.init(repoPath);

  const reference = await runTraining({ repo, run: 'reference', seed: SEED, steps: STEPS, every: EVERY, async: true });
  const refSnap = await repo.snapshot(`reference@${STEPS}`);
  // The checkpoint is the trainer's real final state.
  for (const [name, w] of Object.entries(reference.params)) {
    assert.ok(Buffer.from((await refSnap.tensor(`model/${name}`)).data).equals(Buffer.from(w.buffer)), `reference snapshot of ${name}`);
  }

  const r = rng(4242);
  let killed = 0;
  let resumedMidRun = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const mode = trial % 2 === 0 ? 'async' : 'sync';
    const run = `trial${trial}-${mode}`;
    const args = [repoPath, run, String(SEED), String(STEPS), String(EVERY), mode];
    let reached = 0;
    const history: string[] = [];
    for (let attempt = 0; ; attempt++) {
      const kill = attempt < KILLS_PER_TRIAL ? reached + 1 + Math.floor(r() * (STEPS - 1 - reached)) : undefined;
      const extraMs = Math.floor(r() * 4);
      const res = await runChild('train-child.ts', args, (step, signal) => {
        if (kill !== undefined && step === kill) setTimeout(() => signal('SIGKILL'), extraMs);
      });
      history.push(`attempt ${attempt}: resumed ${res.resumedFrom ?? '-'}, reached ${res.lastStep}, kill at ${kill ?? '-'}+${extraMs}ms, ${res.signal ?? res.code}`);
      if (res.resumedFrom !== undefined && res.resumedFrom > 0) resumedMidRun++;
      if (res.signal === 'SIGKILL') {
        killed++;
        reached = Math.max(reached, res.lastStep);
        continue;
      }
      assert.equal(res.code, 0, `${run} ${history.join('; ')}\n${res.stderr}`);
      assert.match(res.stdout, /done\n$/);
      break;
    }
    await assertSameState(refSnap, await repo.snapshot(`${run}@${STEPS}`), `${run} (${history.join('; ')})`);
  }
  // The kills must really have interrupted runs that then resumed from checkpoints.
  assert.ok(killed >= TRIALS * KILLS_PER_TRIAL - 1, `only ${killed} runs were killed`);
  assert.ok(resumedMidRun >= TRIALS, `only ${resumedMidRun} restarts resumed from a checkpoint`);
  const report = await repo.verify();
  assert.equal(report.ok, true, JSON.stringify(report.findings.slice(0, 3)));
  await repo.close();
  await rm(work, { recursive: true, force: true });
});
