/**
 * `engram tasks` and the continual part of `engram show` on the repository of a real (short)
 * Split-Digits run — TF.js replay+EWC on the wasm backend, checkpointed through CheckpointManager —
 * as text and as --json, checked against the run's own task registry, buffer and EWC state; and the
 * clear errors for a snapshot without a task registry and for a missing ref.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { useWasmBackend } from '../../src/integrations/tfjs/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { CheckpointManager } from '../../src/train/index.ts';
import type { SplitDigitsRun } from '../../demo/continual/split-digits-run.ts';
import { trainSplitDigits } from '../../demo/continual/train-split-digits.ts';
import { SHORT_RUN } from '../integrations/fixtures/split-digits-short.ts';
import { runCli, tempDir } from '../helpers/cli.ts';

const NOT_FOUND = 3;
const INVALID_ARGUMENT = 2;
let work: string;
let repoPath: string;
let run: SplitDigitsRun;

before(async () => {
  await useWasmBackend();
  work = await tempDir('engram-cli-tasks-');
  repoPath = join(work, 'repo');
  const repo = await Repository.init(repoPath);
  // Checkpoints at the task ends only (every = 0): cl@latest is the end of the run.
  const manager = new CheckpointManager(repo, { run: 'cl', async: false, policies: [] });
  run = await trainSplitDigits(SHORT_RUN, { manager });
  await manager.close();
  await repo.save({ run: 'plain', step: 1, blobs: { note: new TextEncoder().encode('not a training state') } });
  await repo.close();
});

after(async () => {
  run.dispose();
  await rm(work, { recursive: true, force: true });
});

test('engram tasks prints the run\'s tasks, its R matrix, ACC, BWT and F, as text and --json', async () => {
  const matrix = run.registry.matrix();
  const m = run.registry.measures();
  const json = await runCli(['tasks', 'cl@latest', '--repo', repoPath, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const j = JSON.parse(json.stdout) as { run: string; step: number; tasks: { id: string; classes: number[] }[]; matrix: (number | null)[][]; acc: number; bwt: number; forgetting: number };
  assert.equal(j.run, 'cl');
  assert.equal(j.step, run.step);
  assert.deepEqual(j.tasks.map((t) => [t.id, t.classes]), run.tasks.map((t) => [t.id, [...t.classes]]));
  assert.deepEqual(j.matrix, matrix);
  assert.deepEqual([j.acc, j.bwt, j.forgetting], [m.acc, m.bwt, m.forgetting]);
  assert.equal(matrix.length, 5);
  assert.ok(matrix[4]!.every((v) => typeof v === 'number'));

  const text = await runCli(['tasks', 'cl@latest', '--repo', repoPath]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /5 tasks \(namespace tasks\), in training order:\n\s+0 {2}digits-0-1 {2}classes 0, 1\n/);
  // Each row of R: the entries recorded so far, then dashes (a task not yet trained).
  for (const [i, row] of matrix.entries()) {
    const cells = row.map((v) => (v === null ? '—' : v.toFixed(3)));
    assert.match(text.stdout, new RegExp(`\\n  ${i} +${cells.map((c) => c.replace('.', '\\.')).join(' +')}\\n`), `row ${i}`);
  }
  assert.ok(text.stdout.includes(`ACC ${m.acc!.toFixed(3)}   BWT ${m.bwt!.toFixed(3)}   F ${m.forgetting!.toFixed(3)}`), text.stdout);
  // An earlier checkpoint: after the first task, one row measured, BWT and F undefined.
  const first = await runCli(['tasks', `cl@${run.taskEndSteps[0]}`, '--repo', repoPath, '--json']);
  const f = JSON.parse(first.stdout) as { matrix: (number | null)[][]; acc: number; bwt: number | null };
  assert.equal(f.matrix[0]![0], matrix[0]![0]);
  assert.equal(f.bwt, null);
});

test('engram show lists the snapshot\'s replay buffer, EWC tasks and task registry', async () => {
  const text = await runCli(['show', 'cl@latest', '--repo', repoPath]);
  assert.equal(text.code, 0, text.stderr);
  const counts = run.buffer!.countsByClass();
  const held = Object.values(counts).reduce((a, b) => a + b, 0);
  assert.ok(text.stdout.includes(`\ncontinual learning:\n  replay replay: class-balanced, ${held} of ${SHORT_RUN.bufferCapacity} examples held`), text.stdout);
  assert.ok(text.stdout.includes(`per class (y): ${Object.entries(counts).map(([c, n]) => `${c}:${n}`).join(' ')}\n`), text.stdout);
  assert.ok(text.stdout.includes(`  ewc: per-task, lambda ${SHORT_RUN.lambda}, 5 tasks: ${run.tasks.map((t) => t.id).join(', ')}\n`), text.stdout);
  assert.match(text.stdout, /\n {2}tasks tasks: digits-0-1 \[0, 1\], digits-2-3 \[2, 3\], .*digits-8-9 \[8, 9\]\n {4}ACC /);

  const json = await runCli(['show', 'cl@latest', '--repo', repoPath, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const c = (JSON.parse(json.stdout) as { continual: { replay: { kind: string; size: number; countsByClass: Record<string, number> }[]; ewc: { tasks: string[] }; tasks: { matrix: unknown } } }).continual;
  assert.equal(c.replay[0]!.kind, 'class-balanced');
  assert.equal(c.replay[0]!.size, held);
  assert.deepEqual(c.replay[0]!.countsByClass, counts);
  assert.deepEqual(c.ewc.tasks, run.tasks.map((t) => t.id));
  assert.deepEqual(c.tasks.matrix, run.registry.matrix());

  // A snapshot that is not a training state shows as before: no continual section, no key.
  const plain = await runCli(['show', 'plain@1', '--repo', repoPath, '--json']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal((JSON.parse(plain.stdout) as Record<string, unknown>)['continual'], undefined);
  assert.doesNotMatch((await runCli(['show', 'plain@1', '--repo', repoPath])).stdout, /continual learning/);
});

test('engram tasks: a snapshot without a task registry and a bad call are clear errors, no stack trace', async () => {
  const none = await runCli(['tasks', 'plain@1', '--repo', repoPath]);
  assert.equal(none.code, NOT_FOUND, none.stderr);
  assert.match(none.stderr, /has no task registry \(no namespace tasks\)/);
  assert.doesNotMatch(none.stderr, /\n\s+at /);
  const other = await runCli(['tasks', 'cl@latest', '--namespace', 'registry', '--repo', repoPath]);
  assert.equal(other.code, NOT_FOUND);
  assert.match(other.stderr, /no namespace registry/);
  const noRef = await runCli(['tasks', '--repo', repoPath]);
  assert.equal(noRef.code, INVALID_ARGUMENT);
  assert.match(noRef.stderr, /needs exactly one ref/);
  const missing = await runCli(['tasks', 'nope@3', '--repo', repoPath]);
  assert.equal(missing.code, NOT_FOUND);
  assert.doesNotMatch(missing.stderr, /\n\s+at /);
  const help = await runCli(['tasks', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /engram tasks <ref> \[--namespace NAME\] \[--json\]/);
  assert.match((await runCli(['--help'])).stdout, /engram tasks <ref>/);
});
