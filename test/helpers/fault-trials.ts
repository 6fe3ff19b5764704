/**
 * Fault trials on real `engram` processes (issue 11): `engram save` and `engram gc` are sent SIGINT
 * or SIGKILL at a random instant of their life, and after every trial
 *   - the repository verifies clean,
 *   - the snapshot committed before, and the one the trial made if it committed, restore exactly,
 *   - a process ended by SIGINT exited with 130, printed no stack trace, and left no save intent and
 *     no GC marker without its `.done`,
 *   - the next gc and the next save do not wait on the dead process: the gc deletes (it is not
 *     skipped for a save in flight) and the save is never told to wait for a GC.
 * The instant of the kill is random: every other trial over the process's whole life, the others
 * a moment after its intent or marker is seen in the repository (so that many signals land while it
 * holds one). The verdict never depends on time. Shared by
 * test/cli/signal-faults.test.ts (a few dozen trials) and scripts/fault-trials.ts (thousands).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openFileSource, readTensorFile, writeSafetensors } from '../../src/formats/index.ts';
import { Repository, restoreFiles } from '../../src/repo/index.ts';
import { runCli, spawnCli, tempDir } from './cli.ts';
import { gaussian, rng } from './weights.ts';

export type FaultCommand = 'save' | 'gc';
export type FaultSignal = 'SIGINT' | 'SIGKILL';

/** What the trials did. */
export interface FaultSummary {
  readonly trials: number;
  /** Trials whose process the signal reached while it was running (not before start-up, not after it exited). */
  readonly interrupted: Record<`${FaultCommand} ${FaultSignal}`, number>;
  readonly byKind: Record<`${FaultCommand} ${FaultSignal}`, number>;
  /** Trials whose signal came while the process held its intent or marker (seen in the repository before the kill). */
  readonly whileLocked: Record<`${FaultCommand} ${FaultSignal}`, number>;
  /** Saves that committed before the signal took effect. */
  readonly committed: number;
}

const KINDS: readonly [FaultCommand, FaultSignal][] = [['save', 'SIGINT'], ['save', 'SIGKILL'], ['gc', 'SIGINT'], ['gc', 'SIGKILL']];
const CHUNK = 16 * 1024;
/** Elements of the checkpoint a trial saves: 1 MiB of F32, 64 chunks, so the save does real work. */
const ELEMENTS = 256 * 1024;

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function checkpoint(seed: number): Uint8Array {
  const v = gaussian(ELEMENTS, seed);
  return writeSafetensors([{ name: 'w', dtype: 'F32', shape: [ELEMENTS], data: new Uint8Array(v.buffer) }]);
}

/** Leftover coordination objects: intents without their save, GC markers without `.done`. */
async function leftovers(repo: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(join(repo, 'staging')).catch(() => [] as string[])) {
    for (const f of await readdir(join(repo, 'staging', d)).catch(() => [] as string[])) if (f === 'intent.json') out.push(`staging/${d}/${f}`);
  }
  const gc = await readdir(join(repo, 'gc')).catch(() => [] as string[]);
  for (const f of gc) if (f.endsWith('.json') && !gc.includes(f.replace(/\.json$/, '.done'))) out.push(`gc/${f}`);
  return out;
}

/** One lane: its own repository, running `trials` trials one after another. */
/** Polls the repository until the child holds a lock (true) or has exited (false). */
async function lockSeen(repo: string, child: { exitCode: number | null; signalCode: NodeJS.Signals | null }): Promise<boolean> {
  while (child.exitCode === null && child.signalCode === null) {
    if ((await leftovers(repo)).length > 0) return true;
    await new Promise((res) => setTimeout(res, 3));
  }
  return false;
}

async function lane(trials: number, seed: number, kinds: readonly [FaultCommand, FaultSignal][], summary: FaultSummary & { committed: number }, onTrial: () => void): Promise<void> {
  const work = await tempDir('engram-faults-');
  const repo = join(work, 'repo');
  try {
    // Set up in this process (CLI processes are the expensive part of a trial): the repository
    // and run r's first snapshot, ingested from its file as `engram save` does.
    const init = await Repository.init(repo, { chunkSize: CHUNK });
    const baseFile = join(work, 'base.safetensors');
    const baseBytes = checkpoint(seed * 1000);
    await writeFile(baseFile, baseBytes);
    const src = await openFileSource(baseFile, baseFile);
    const f = await readTensorFile(src);
    await init.save({ run: 'r', step: 0, files: [{ path: 'base.safetensors', format: f.format, size: f.size, sha256: sha(baseBytes), literal: f.literal, segments: f.segments, tensors: f.tensors }] });
    await src.close();
    await init.close();
    /** Expected bytes of each committed step of run r. */
    const expected = new Map<number, string>([[0, sha(baseBytes)]]);

    // How long a whole `engram save` takes here, to spread kill instants over the life of a
    // process (a gc of a trial's garbage lives about as long: start-up dominates both).
    const probeFile = join(work, 'probe.safetensors');
    await writeFile(probeFile, checkpoint(seed * 1000 + 999));
    const t = Date.now();
    assert.equal((await runCli(['save', probeFile, '--repo', repo, '--run', 'probe', '--step', '0'])).code, 0);
    const life: Record<FaultCommand, number> = { save: Date.now() - t, gc: Date.now() - t };

    const r = rng(seed);
    for (let trial = 1; trial <= trials; trial++) {
      const [command, signal] = kinds[(trial - 1) % kinds.length]!;
      const kind = `${command} ${signal}` as const;
      const label = `lane ${seed} trial ${trial} (${kind})`;
      summary.byKind[kind]++;
      const file = join(work, `t${trial}.safetensors`);
      let bytes: Uint8Array | undefined;
      if (command === 'save') {
        bytes = checkpoint(seed * 1000 + trial);
        await writeFile(file, bytes);
      } else {
        // Garbage for the gc to delete: a snapshot saved and forgotten.
        const g = await Repository.open(repo);
        await g.save({ run: 'garbage', step: trial, blobs: { b: checkpoint(seed * 1000 + 500 + trial) } });
        await g.forget({ run: 'garbage', rules: [], all: true, keepNewest: false });
        await g.close();
      }
      const args = command === 'save' ? ['save', file, '--repo', repo, '--run', 'r', '--step', String(trial)] : ['gc', '--repo', repo, '--grace', '0s'];
      const child = spawnCli(args);
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('close', (code, sig) => res({ code, signal: sig })));
      // The instant is random — over the process's whole life (start-up included), or just after
      // it is seen holding its lock; the checks below must hold whatever it is.
      const locked = trial % 2 === 0 && (await lockSeen(repo, child));
      await new Promise((res) => setTimeout(res, Math.floor(r() * (locked ? 20 : life[command] * 1.3))));
      const running = child.exitCode === null && child.signalCode === null;
      child.kill(signal);
      const end = await exited;
      if (running && (end.signal !== null || end.code === 130)) summary.interrupted[kind]++;
      if (locked && running) summary.whileLocked[kind]++;

      if (signal === 'SIGINT') {
        assert.ok(end.code === 0 || end.code === 130 || end.signal === 'SIGINT', `${label}: exit ${end.code} ${end.signal}: ${stderr}`);
        assert.doesNotMatch(stderr, /internal error|\n\s+at /, `${label}: ${stderr}`);
        // Whenever it came: before the handler is installed there is no lock yet, and after it is
        // removed the lock is already gone; in between the handler releases it.
        assert.deepEqual(await leftovers(repo), [], `${label}: SIGINT (exit ${end.signal ?? end.code}) left locks behind`);
      }

      const opened = await Repository.open(repo);
      const report = await opened.verify();
      assert.equal(report.ok, true, `${label}: ${JSON.stringify(report.findings.slice(0, 3))}`);
      if (bytes && (await opened.log('r')).some((s) => s.step === trial)) {
        expected.set(trial, sha(bytes));
        summary.committed++;
      }
      for (const step of [0, ...(bytes && expected.has(trial) ? [trial] : [])]) await checkRestore(opened, work, step, expected.get(step)!, label);

      // The next gc and save proceed without waiting on the dead process.
      const gc = await opened.gc({ graceMs: 0 });
      assert.equal(gc.skipped, undefined, `${label}: the next gc: ${gc.skipped?.message}`);
      assert.deepEqual(await leftovers(repo), [], `${label}: the next gc left locks of dead processes`);
      await opened.save({ run: 'next', blobs: { b: new Uint8Array([trial & 0xff]) }, onWait: (w) => assert.fail(`${label}: the next save waited for ${w.gcs.map((g) => g.gcId).join(', ')}`) });
      await opened.close();
      await rm(file, { force: true });
      onTrial();
    }
    const final = await Repository.open(repo);
    for (const [step, want] of expected) await checkRestore(final, work, step, want, `lane ${seed} at the end`);
    await final.close();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function checkRestore(repo: Repository, work: string, step: number, want: string, label: string): Promise<void> {
  const out = join(work, `restore-${step}`);
  const [path] = await restoreFiles(await repo.snapshot(`r@${step}`), out);
  assert.equal(sha(await readFile(path!)), want, `${label}: r@${step} does not restore exactly`);
  await rm(out, { recursive: true, force: true });
}

/** Runs `trials` trials in `lanes` repositories at once (each lane one process at a time), cycling through the four kinds. */
export async function runFaultTrials(options: { trials: number; lanes?: number; seed?: number; onTrial?: (done: number, summary: FaultSummary) => void }): Promise<FaultSummary> {
  const lanes = Math.max(1, Math.min(options.lanes ?? 2, options.trials));
  const zero = (): Record<`${FaultCommand} ${FaultSignal}`, number> => ({ 'save SIGINT': 0, 'save SIGKILL': 0, 'gc SIGINT': 0, 'gc SIGKILL': 0 });
  const summary = { trials: options.trials, interrupted: zero(), byKind: zero(), whileLocked: zero(), committed: 0 };
  const base = options.seed ?? 1;
  let done = 0;
  const onTrial = (): void => options.onTrial?.(++done, summary);
  await Promise.all(Array.from({ length: lanes }, (_, i) => {
    const n = Math.floor(options.trials / lanes) + (i < options.trials % lanes ? 1 : 0);
    // Lanes start at different kinds so that every kind runs even with few trials per lane.
    const kinds = [...KINDS.slice(i % KINDS.length), ...KINDS.slice(0, i % KINDS.length)];
    return lane(n, base + i, kinds, summary, onTrial);
  }));
  return summary;
}
