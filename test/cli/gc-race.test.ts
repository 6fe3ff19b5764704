/**
 * GC racing saves in separate processes through the real CLI, on an fs repository. Each trial first
 * orphans the very chunks the next save will reuse (save, then forget), then starts `engram save`
 * and `engram gc --grace 0s` at random moments relative to each other: a GC that deleted an orphan
 * the save had just found with head() would leave a snapshot with a missing chunk. After every
 * trial `engram verify` must pass and every committed snapshot must restore byte-identical.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeSafetensors } from '../../src/formats/index.ts';
import { intentKey } from '../../src/repo/coordination.ts';
import { newId, Repository, restoreFiles } from '../../src/repo/index.ts';
import { hashTree, runCli, tempDir, type CliResult } from '../helpers/cli.ts';
import { gaussian, rng } from '../helpers/weights.ts';

const TRIALS = 12;
/** More trials only while the first ones have not yet hit both sides of the race. */
const MAX_TRIALS = 20;

interface NamedTensor {
  readonly name: string;
  readonly dtype: 'F32';
  readonly shape: number[];
  readonly data: Uint8Array;
}

function tensorsOf(seed: number, sizes: readonly number[]): NamedTensor[] {
  return sizes.map((n, i) => {
    const v = gaussian(n, seed * 100 + i);
    return { name: `layer${i}.weight`, dtype: 'F32', shape: [n], data: new Uint8Array(v.buffer) };
  });
}

/**
 * A checkpoint of two files: `a-shared` (~1.5 MB, 24 chunks of 64 KiB) holds `shared`, whose chunks
 * the trial orphans beforehand; `b-new` (~5 MB) is new, so the save is still writing it for a while
 * after it has found the shared chunks with head() — the window a careless GC would hit.
 */
async function makeCheckpoint(dir: string, shared: readonly NamedTensor[], seed: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'a-shared.safetensors'), writeSafetensors(shared));
  await writeFile(join(dir, 'b-new.safetensors'), writeSafetensors(tensorsOf(seed, [1_300_000])));
}

/** Runs the CLI after `delayMs`, so two processes start in a chosen order. */
async function run(args: string[], delayMs: number): Promise<CliResult> {
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  return runCli(args);
}

interface GcJson {
  swept: number;
  savesInFlight: number;
  staleIntentsRemoved: number;
  skipped?: { reason: string; message: string };
}

test(`gc racing saves in other processes (${TRIALS} trials) never loses a chunk`, async () => {
  const work = await tempDir('engram-gc-race-');
  const repo = join(work, 'repo');
  assert.equal((await runCli(['init', '--repo', repo, '--chunk-size', String(64 * 1024)])).code, 0);
  const expected = new Map<number, Map<string, string>>();
  const base = join(work, 'ckpt-0');
  await makeCheckpoint(base, tensorsOf(0, [262_144, 131_072]), 0);
  assert.equal((await runCli(['save', base, '--repo', repo, '--run', 'r', '--step', '0'])).code, 0);
  expected.set(0, await hashTree(base));

  const r = rng(7);
  const outcomes = { skipped: 0, swept: 0 };
  const hitBoth = (): boolean => outcomes.skipped > 0 && outcomes.swept > 0;
  for (let trial = 1; trial <= TRIALS || (trial <= MAX_TRIALS && !hitBoth()); trial++) {
    const dir = join(work, `ckpt-${trial}`);
    const shared = tensorsOf(1000 + trial, [262_144, 131_072]);
    await makeCheckpoint(dir, shared, trial);
    // Orphan the chunks of the shared tensors (tensor chunks are cut at fixed offsets, so saving
    // the tensors alone makes the very chunks the file's save will look for). An fs Repository in
    // this process is just one more writer of the same directory.
    const setup = await Repository.open(repo);
    await setup.save({ run: `tmp${trial}`, step: 0, tensors: Object.fromEntries(shared.map((t) => [t.name, t])) });
    await setup.forget({ run: `tmp${trial}`, rules: [], all: true, keepNewest: false });
    await setup.close();

    // Spread the two starts over a window about as long as a save, in both orders.
    const saveDelay = Math.floor(r() * 500);
    const gcDelay = Math.floor(r() * 500);
    const [save, gc] = await Promise.all([
      run(['save', dir, '--repo', repo, '--run', 'r', '--step', String(trial)], saveDelay),
      run(['gc', '--repo', repo, '--grace', '0s', '--json'], gcDelay),
    ]);
    assert.equal(save.code, 0, `trial ${trial}: save failed: ${save.stderr}`);
    assert.equal(gc.code, 0, `trial ${trial}: gc failed: ${gc.stderr}`);
    const report = JSON.parse(gc.stdout) as GcJson;
    if (report.skipped?.reason === 'saves-in-flight') outcomes.skipped++;
    if (report.swept > 0) outcomes.swept++;
    expected.set(trial, await hashTree(dir));

    const verify = await runCli(['verify', '--repo', repo]);
    assert.equal(verify.code, 0, `trial ${trial} (save +${saveDelay} ms, gc +${gcDelay} ms): ${verify.stdout}${verify.stderr}`);
    const opened = await Repository.open(repo);
    for (const step of [0, trial]) {
      const out = join(work, `out-${trial}-${step}`);
      await restoreFiles(await opened.snapshot(`r@${step}`), out);
      assert.deepEqual(await hashTree(out), expected.get(step), `trial ${trial}: r@${step} no longer restores byte-identical`);
      await rm(out, { recursive: true });
    }
    await opened.close();
    await rm(dir, { recursive: true });
  }

  // Every snapshot committed along the way still restores exactly, after a final GC.
  assert.equal((await runCli(['gc', '--repo', repo, '--grace', '0s'])).code, 0);
  const final = await Repository.open(repo);
  for (const [step, tree] of expected) {
    const out = join(work, `final-${step}`);
    await restoreFiles(await final.snapshot(`r@${step}`), out);
    assert.deepEqual(await hashTree(out), tree, `r@${step}`);
  }
  assert.equal((await final.verify()).ok, true);
  await final.close();
  // The trials must have hit both sides of the race, or they prove less than they claim.
  assert.ok(outcomes.skipped > 0, `no trial had gc run while a save was in flight: ${JSON.stringify(outcomes)}`);
  assert.ok(outcomes.swept > 0, `no trial had gc delete orphans: ${JSON.stringify(outcomes)}`);
  await rm(work, { recursive: true, force: true });
});

test('a stale intent left by a crashed save does not block gc; a live one does, and gc says to rerun', async () => {
  const work = await tempDir('engram-gc-stale-');
  const repo = join(work, 'repo');
  assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  const dir = join(work, 'ckpt');
  await makeCheckpoint(dir, tensorsOf(1, [65_536]), 1);
  assert.equal((await runCli(['save', dir, '--repo', repo, '--run', 'gone', '--step', '0'])).code, 0);
  assert.equal((await runCli(['forget', '--repo', repo, '--run', 'gone', '--all', '--no-keep-newest'])).code, 0);

  // A live save elsewhere: gc deletes nothing, exits 0 and says to run again.
  const live = join(repo, ...intentKey(newId()).split('/'));
  await mkdir(join(live, '..'), { recursive: true });
  await writeFile(live, JSON.stringify({ startedAt: new Date().toISOString(), host: 'elsewhere', pid: 1 }));
  const blocked = await runCli(['gc', '--repo', repo, '--grace', '0s']);
  assert.equal(blocked.code, 0, blocked.stderr);
  assert.match(blocked.stdout, /1 save in flight; no chunk was deleted\. Run gc again/);
  await rm(join(live, '..'), { recursive: true });

  // A save that crashed an hour ago: its intent says so, and so does its file's mtime.
  const crashedAt = new Date(Date.now() - 3_600_000);
  const stale = join(repo, ...intentKey(newId()).split('/'));
  await mkdir(join(stale, '..'), { recursive: true });
  await writeFile(stale, JSON.stringify({ startedAt: crashedAt.toISOString(), host: 'elsewhere', pid: 1 }));
  await utimes(stale, crashedAt, crashedAt);
  const res = await runCli(['gc', '--repo', repo, '--grace', '0s', '--json']);
  assert.equal(res.code, 0, res.stderr);
  const report = JSON.parse(res.stdout) as GcJson;
  assert.equal(report.skipped, undefined);
  assert.equal(report.staleIntentsRemoved, 1);
  assert.ok(report.swept > 0);
  const after = await Repository.open(repo);
  const left: string[] = [];
  for await (const o of after.store.list('staging/')) left.push(o.key);
  assert.deepEqual(left, []);
  await after.close();
  await rm(work, { recursive: true, force: true });
});
