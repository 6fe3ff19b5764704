/** `engram forget` and `engram gc` through the real CLI: plans, dry runs, JSON, messages, exit codes. */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { writeSafetensors } from '../../src/formats/index.ts';
import { hashTree, runCli, tempDir } from '../helpers/cli.ts';
import { gaussian } from '../helpers/weights.ts';

const INVALID = 2;

interface Decision {
  id: string;
  run: string;
  step: number;
  keptBy: { by: string; label: string }[];
}

describe('engram forget and gc', () => {
  let work: string;
  let repo: string;
  const dirs: string[] = [];
  const ids: string[] = [];

  before(async () => {
    work = await tempDir('engram-forget-');
    repo = join(work, 'repo');
    assert.equal((await runCli(['init', '--repo', repo, '--chunk-size', String(64 * 1024)])).code, 0);
    for (let step = 0; step < 4; step++) {
      const dir = join(work, `ckpt-${step}`);
      await mkdir(dir);
      const v = gaussian(100_000, step + 1);
      await writeFile(join(dir, 'model.safetensors'), writeSafetensors([{ name: 'w', dtype: 'F32', shape: [v.length], data: new Uint8Array(v.buffer) }]));
      const save = await runCli(['save', dir, '--repo', repo, '--run', 'r', '--step', String(step), '--metric', `loss=${[0.9, 0.2, 0.5, 0.4][step]}`, '--json']);
      assert.equal(save.code, 0, save.stderr);
      ids.push((JSON.parse(save.stdout) as { id: string }).id);
      dirs.push(dir);
    }
    assert.equal((await runCli(['tag', 'prod', 'r@0', '--repo', repo])).code, 0);
  });

  test('refuses a forget with no rule unless --all, and options that do not go together', async () => {
    const none = await runCli(['forget', '--repo', repo]);
    assert.equal(none.code, INVALID);
    assert.match(none.stderr, /InvalidArgument: engram forget needs at least one --keep-… rule.*pass --all/);
    assert.equal((await runCli(['forget', '--repo', repo, '--best-n', '2'])).code, INVALID);
    assert.equal((await runCli(['forget', '--repo', repo, '--keep-last', '0'])).code, INVALID);
    assert.equal((await runCli(['forget', '--repo', repo, '--keep-steps', '1,x'])).code, INVALID);
    assert.equal((await runCli(['forget', '--repo', repo, '--run', 'nope', '--keep-last', '1'])).code, 3);
    assert.equal((await runCli(['gc', '--repo', repo, '--grace', '5 weeks'])).code, INVALID);
  });

  test('--dry-run prints the plan with the rules that keep each snapshot and deletes nothing', async () => {
    const dry = await runCli(['forget', '--repo', repo, '--keep-best', 'loss', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(dry.stdout.trim().split('\n'), [
      `keep    r@0  ${ids[0]}  tag prod`,
      `keep    r@1  ${ids[1]}  best 1 by loss (min): 0.2`,
      `forget  r@2  ${ids[2]}`,
      `keep    r@3  ${ids[3]}  newest of run r`,
      'Dry run: would forget 1 of 4 snapshots and keep 3; nothing was deleted.',
    ]);
    const json = await runCli(['forget', '--repo', repo, '--keep-last', '1', '--no-keep-tagged', '--dry-run', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const plan = JSON.parse(json.stdout) as { dryRun: boolean; keep: Decision[]; forget: Decision[]; forgotten: string[]; untouched: number };
    assert.equal(plan.dryRun, true);
    assert.deepEqual(plan.forgotten, []);
    assert.deepEqual(plan.forget.map((d) => d.step), [0, 1, 2]);
    assert.deepEqual(plan.keep.map((d) => [d.step, d.keptBy.map((r) => r.by)]), [[3, ['last', 'newest']]]);
    const log = JSON.parse((await runCli(['log', '--repo', repo, '--json'])).stdout) as unknown[];
    assert.equal(log.length, 4, 'a dry run forgets nothing');
  });

  test('forget deletes manifests and points at gc; gc reports and reclaims; kept snapshots restore exactly', async () => {
    const forget = await runCli(['forget', '--repo', repo, '--keep-steps', '1']);
    assert.equal(forget.code, 0, forget.stderr);
    assert.match(forget.stdout, new RegExp(`forget  r@2  ${ids[2]}`));
    assert.match(forget.stdout, /Forgot 1 of 4 snapshots; kept 3\.\nTheir chunks stay until garbage collection: run `engram gc` to reclaim space\./);

    // Younger than the default grace period of one hour: found, but kept.
    const dry = await runCli(['gc', '--repo', repo, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would delete 0 chunks \(0 B\)/);
    assert.match(dry.stdout, /kept \d+ unreferenced chunks? \(.*\) younger than the 1h grace period/);
    assert.match(dry.stdout, /Dry run: nothing was deleted\./);

    const stats = JSON.parse((await runCli(['stats', '--repo', repo, '--json'])).stdout) as { orphanChunks: number; reclaimableChunks: number };
    assert.ok(stats.orphanChunks > 0);
    assert.equal(stats.reclaimableChunks, 0, 'nothing is reclaimable within the grace period');

    const gc = await runCli(['gc', '--repo', repo, '--grace', '0s', '--json']);
    assert.equal(gc.code, 0, gc.stderr);
    const report = JSON.parse(gc.stdout) as { swept: number; unreferenced: number; snapshots: number; skipped?: unknown; dryRun: boolean };
    assert.equal(report.dryRun, false);
    assert.equal(report.skipped, undefined);
    assert.equal(report.snapshots, 3);
    assert.equal(report.swept, stats.orphanChunks);
    assert.equal(report.swept, report.unreferenced);

    const again = await runCli(['gc', '--repo', repo, '--grace', '0s']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^\d+ chunk objects: \d+ needed by 3 snapshots, 0 unreferenced \(0 B\)\ndeleted 0 chunks \(0 B\)\n$/);

    assert.equal((await runCli(['verify', '--repo', repo])).code, 0);
    for (const step of [0, 1, 3]) {
      const out = join(work, `out-${step}`);
      assert.equal((await runCli(['restore', `r@${step}`, out, '--repo', repo])).code, 0);
      assert.deepEqual(await hashTree(out), await hashTree(dirs[step]!));
    }
    assert.equal((await runCli(['restore', 'r@2', join(work, 'out-2'), '--repo', repo])).code, 3);
  });
});
