/**
 * Crash safety: `engram save` is SIGKILLed at random moments; every time, the repository must
 * verify clean and the snapshot committed before must restore byte-identical.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeSafetensors } from '../../src/formats/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { hashTree, runCli, spawnCli, tempDir } from '../helpers/cli.ts';
import { gaussian, rng } from '../helpers/weights.ts';

const TRIALS = 20;

/** A checkpoint directory of three safetensors files (~12 MB) unique to `seed`. */
async function makeCheckpoint(dir: string, seed: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let f = 0; f < 3; f++) {
    const tensors = [0, 1, 2].map((i) => {
      const v = gaussian(i === 0 ? 1_000_000 : 10_000 * (i + 1), seed * 100 + f * 10 + i);
      return { name: `layer${i}.weight`, dtype: 'F32' as const, shape: [v.length], data: new Uint8Array(v.buffer) };
    });
    await writeFile(join(dir, `part-${f}.safetensors`), writeSafetensors(tensors));
  }
}

function sha(tree: Map<string, string>): string {
  return createHash('sha256').update(JSON.stringify([...tree])).digest('hex');
}

test(`SIGKILL during save (${TRIALS} trials) never damages the repository`, async () => {
  const work = await tempDir('engram-crash-');
  const repo = join(work, 'repo');
  assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  const base = join(work, 'base');
  await makeCheckpoint(base, 0);
  const first = await runCli(['save', base, '--repo', repo, '--run', 'r', '--step', '0']);
  assert.equal(first.code, 0, first.stderr);
  const want = sha(await hashTree(base));

  // Time one whole save to spread kill times across its whole life (start-up included).
  const probe = join(work, 'probe');
  await makeCheckpoint(probe, 999);
  const t0 = Date.now();
  assert.equal((await runCli(['save', probe, '--repo', repo, '--run', 'probe', '--step', '0'])).code, 0);
  const saveMs = Date.now() - t0;

  const r = rng(42);
  let killedMidway = 0;
  for (let trial = 1; trial <= TRIALS; trial++) {
    const dir = join(work, `t${trial}`);
    await makeCheckpoint(dir, trial);
    const child = spawnCli(['save', dir, '--repo', repo, '--run', 'r', '--step', String(trial)]);
    const delay = Math.floor(r() * saveMs * 1.1);
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    await new Promise((res) => setTimeout(res, delay));
    const wasRunning = child.exitCode === null;
    child.kill('SIGKILL');
    const code = await exited;
    if (wasRunning && code === null) killedMidway++;

    const opened = await Repository.open(repo);
    const report = await opened.verify();
    assert.equal(report.ok, true, `trial ${trial} (kill at ${delay} ms): ${JSON.stringify(report.findings.slice(0, 3))}`);
    const out = join(work, `out${trial}`);
    const res = await runCli(['restore', 'r@0', out, '--repo', repo]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(sha(await hashTree(out)), want, `trial ${trial}: r@0 no longer restores byte-identical`);
    await opened.close();
    await rm(dir, { recursive: true });
    await rm(out, { recursive: true });
  }
  // The trials must really have interrupted saves, or this test proves nothing.
  assert.ok(killedMidway >= TRIALS / 2, `only ${killedMidway} of ${TRIALS} saves were killed while running`);
  await rm(work, { recursive: true, force: true });
});
