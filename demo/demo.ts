/**
 * `npm run demo`: trains a small TensorFlow.js classifier (wasm backend) on the UCI handwritten
 * digits in a child process that checkpoints its full training state into ./demo-output/repo
 * through a CheckpointManager, SIGKILLs it mid-run, resumes it from the latest checkpoint in a new
 * process, checks that the resumed run ends bit-identical to an uninterrupted run with the same
 * seed, and shows the log, the best checkpoint, the storage figures and a verification.
 *
 * Set ENGRAM_DEMO_KILL_AT=<step> to choose the step of the SIGKILL, ENGRAM_DEMO_DIR for another
 * output directory. Exit status 0 on success, 1 with a message on any failure.
 */
import { rm, mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { main } from '../src/cli/main.ts';
import { Repository, type Snapshot } from '../src/index.ts';
import { useWasmBackend } from '../src/integrations/tfjs/index.ts';
import { readTrainingState } from '../src/train/index.ts';
import { DEMO_CONFIG, DigitsTrainer } from './digits-trainer.ts';
import { spawnTraining, type TrainingResult } from './spawn-training.ts';

const STEPS = 600;
const EVERY = 25;
const RUN = 'digits';

const started = performance.now();
const root = resolve(process.env.ENGRAM_DEMO_DIR ?? 'demo-output');
const repoPath = join(root, 'repo');
const referencePath = join(root, 'reference-repo');
const shown = relative(process.cwd(), repoPath) || '.';
const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const say = (s: string): void => out(`\n== ${s}`);
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const seconds = (): string => `${((performance.now() - started) / 1000).toFixed(1)} s`;

class DemoError extends Error {}

/** Aborted when the demo fails, so no training child outlives it. */
const stopChildren = new AbortController();

/** Runs an `engram` command in this process, as a user would type it. */
async function engram(args: string[], repo = repoPath): Promise<void> {
  out(`$ engram ${args.join(' ')}`);
  const code = await main([...args, '--repo', repo]);
  if (code !== 0) throw new DemoError(`engram ${args.join(' ')} exited with status ${code}`);
}

function trainArgs(repo: string, extra: string[] = []): string[] {
  return ['--repo', repo, '--run', RUN, '--steps', String(STEPS), '--every', String(EVERY), ...extra];
}

function childFailure(what: string, r: TrainingResult): DemoError {
  const tail = r.stderr.trim().split('\n').slice(0, 20).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l)).join('\n');
  return new DemoError(`${what} ended with ${r.signal ?? `exit status ${r.code}`}${tail ? `:\n${tail}` : ''}`);
}

/** The step to SIGKILL the first training process at: random-ish in the middle of the run, or ENGRAM_DEMO_KILL_AT. */
function killStep(): number {
  const env = process.env.ENGRAM_DEMO_KILL_AT;
  const lo = 4 * EVERY + 1;
  const hi = STEPS - 2 * EVERY;
  if (env !== undefined) {
    const n = Number(env);
    if (!Number.isSafeInteger(n) || n < lo || n > hi) throw new DemoError(`ENGRAM_DEMO_KILL_AT must be an integer step in ${lo}..${hi}, got ${env}`);
    return n;
  }
  return Math.round(STEPS * (0.35 + 0.3 * Math.random()));
}

/** Compares every tensor and blob of two snapshots byte for byte; returns the first difference. */
async function firstDifference(a: Snapshot, b: Snapshot): Promise<string | undefined> {
  if (a.tensorNames().join('\n') !== b.tensorNames().join('\n')) return 'the tensor lists differ';
  for (const name of a.tensorNames()) {
    const [x, y] = await Promise.all([a.tensor(name), b.tensor(name)]);
    if (x.dtype !== y.dtype || x.shape.join() !== y.shape.join() || !Buffer.from(x.data).equals(Buffer.from(y.data))) return `tensor ${name}`;
  }
  if ([...a.blobNames()].sort().join('\n') !== [...b.blobNames()].sort().join('\n')) return 'the blob lists differ';
  for (const name of a.blobNames()) {
    if (!Buffer.from(await a.blob(name)).equals(Buffer.from(await b.blob(name)))) return `blob ${name}`;
  }
  return undefined;
}

async function demo(): Promise<void> {
  out('engram demo: checkpoint a TensorFlow.js training run, kill it, resume it exactly');
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });

  say(`A repository in ${shown}`);
  await engram(['init']);
  await Repository.init(referencePath).then((r) => r.close());

  const killAt = killStep();
  say(`Training in a child process (TF.js wasm backend): checkpoint every ${EVERY} steps, SIGKILL at step ${killAt}`);
  out(`model 64 → ${DEMO_CONFIG.hidden.join(' → ')} → 10 (ReLU, softmax), Adam lr ${DEMO_CONFIG.learningRate}, batch ${DEMO_CONFIG.batch}, seed ${DEMO_CONFIG.seed}; ` +
    `each checkpoint holds weights, Adam's slots and β-powers, the data RNG, the epoch and batch, the metrics history`);
  // An uninterrupted run with the same seed, into a scratch repository, to compare with after the resume.
  // It runs meanwhile on the other core; nothing it does depends on timing.
  const reference = spawnTraining(trainArgs(referencePath), { signal: stopChildren.signal });
  let killedAt: number | undefined;
  const first = await spawnTraining(trainArgs(repoPath), {
    signal: stopChildren.signal,
    onLine: (line) => out(line),
    onStep: (step, kill) => {
      if (killedAt === undefined && step >= killAt) {
        killedAt = step;
        kill('SIGKILL');
      }
    },
  });
  if (first.signal !== 'SIGKILL') throw first.code === 0 ? new DemoError(`the training finished before the SIGKILL at step ${killAt}`) : childFailure('the first training process', first);
  const repo = await Repository.open(repoPath);
  let latest: number;
  try {
    latest = (await repo.manifest(await repo.resolve(`${RUN}@latest`))).step;
  } finally {
    await repo.close();
  }
  out(`✗ SIGKILL at step ${killedAt}${first.lastStep > killedAt! ? ` (the child had reached step ${first.lastStep} by then)` : ''}.`);
  out(`  Its latest committed checkpoint is ${RUN}@${latest}${first.lastStep > latest ? ` (steps ${latest + 1}–${first.lastStep} are lost with the process` +
    `${first.lastStep >= latest + EVERY ? `; the checkpoint of step ${latest + EVERY} was staged but not yet committed` : ''})` : ''}.`);

  say(`Resuming from the latest checkpoint in a new process`);
  const second = await spawnTraining(trainArgs(repoPath, ['--resume']), { signal: stopChildren.signal, onLine: (line) => out(line) });
  if (second.code !== 0) throw childFailure('the resumed training process', second);
  if (second.resumedFrom !== latest) throw new DemoError(`the resumed process started from step ${second.resumedFrom}, not from the latest checkpoint ${latest}`);

  say(`Is the resume exact? Compare with an uninterrupted run of the same seed (trained meanwhile in another process)`);
  const ref = await reference;
  if (ref.code !== 0) throw childFailure('the reference training process', ref);
  const [mine, theirs] = await Promise.all([Repository.open(repoPath), Repository.open(referencePath)]);
  try {
    const a = await mine.snapshot(`${RUN}@${STEPS}`);
    const b = await theirs.snapshot(`${RUN}@${STEPS}`);
    const diff = await firstDifference(a, b);
    if (diff) throw new DemoError(`the resumed run's ${RUN}@${STEPS} differs from the uninterrupted run's: ${diff}`);
    const model = a.tensorNames().filter((n) => n.startsWith('model/')).length;
    const slots = a.tensorNames().length - model;
    out(`${RUN}@${STEPS} killed at step ${first.lastStep}, resumed from ${latest}  vs  ${RUN}@${STEPS} never interrupted:`);
    out(`  ${model} weight tensors, ${slots} optimizer tensors (Adam's iteration, m and v), blobs ${a.blobNames().join(', ')} ` +
      `(metrics history, data RNG, epoch and batch): bit-identical ✓`);
    out(`  final val_accuracy ${pct(a.metrics['val_accuracy']!)}, val_loss ${a.metrics['val_loss']}`);
  } finally {
    await Promise.all([mine.close(), theirs.close()]);
  }
  await rm(referencePath, { recursive: true, force: true });

  say(`The run's log (retention keeps the last 5 checkpoints; the tag "best" keeps the best)`);
  await engram(['log', RUN]);

  say('The best checkpoint by validation accuracy');
  await engram(['show', 'tag:best']);
  await useWasmBackend();
  const check = await Repository.open(repoPath);
  try {
    const best = await check.snapshot('tag:best');
    const trainer = DigitsTrainer.create(DEMO_CONFIG);
    await trainer.restoreState(await readTrainingState(best));
    const { val_accuracy } = trainer.evaluate();
    trainer.dispose();
    const recorded = best.metrics['val_accuracy']!;
    out(`Loaded ${RUN}@${best.step} into a fresh TF.js model: val_accuracy ${pct(val_accuracy)} (recorded at step ${best.step}: ${pct(recorded)})`);
    if (Math.abs(val_accuracy - recorded) > 1e-4) throw new DemoError(`the best checkpoint evaluates to ${val_accuracy}, not the recorded ${recorded}`);
  } finally {
    await check.close();
  }

  say('Storage');
  const mib = (n: number): string => `${(n / 2 ** 20).toFixed(2)} MiB`;
  const storage = await Repository.open(repoPath);
  try {
    // gc through the library, so the demo can tell why it deleted what it did; --grace 0s is safe
    // here because no process is saving any more.
    const gc = await storage.gc({ graceMs: 0 });
    out(`Retention forgot the older checkpoints. gc (grace 0 s): ${gc.chunks} chunk objects, ${gc.marked} needed by the ${gc.snapshots} kept, ` +
      `${gc.unreferenced} unreferenced (${mib(gc.unreferencedBytes)}): ${gc.swept} deleted.`);
    if (gc.skipped?.reason === 'saves-in-flight') {
      out('  Nothing was deleted because the save the SIGKILL interrupted left its intent behind: gc counts it as in flight until it is');
      out('  10 minutes stale, so it never deletes a chunk that a live save may still commit. Run `engram gc` later to reclaim the space.');
    } else if (gc.skipped) {
      out(`  gc skipped: ${gc.skipped.message}`);
    }
  } finally {
    await storage.close();
  }
  await engram(['stats']);
  const stats = await Repository.open(repoPath).then(async (r) => {
    try {
      return await r.stats();
    } finally {
      await r.close();
    }
  });
  out(`The ${stats.snapshots} checkpoints kept hold ${mib(stats.logicalBytes)} of state in ${mib(stats.chunkBytes - stats.orphanBytes)} of chunk objects ` +
    `(dedup ${stats.dedupRatio.toFixed(2)}x, compression ${stats.compressionRatio.toFixed(2)}x). Adam changes every weight at every step,`);
  out('so checkpoints share few bytes; the saving is the byte-grouped coding of float32 planes, whose exponent bytes are predictable.');

  say('Verifying every chunk of every snapshot (re-hashed)');
  await engram(['verify']);

  say(`Done in ${seconds()}. Explore the repository yourself:`);
  const hints: [string, string][] = [
    ['log', 'every checkpoint, newest first'],
    [`show ${RUN}@latest~1`, `lineage, metrics, tensors, blobs (refs: ${RUN}@<step>, tag:best, …)`],
    ['restore tag:best ./best', 'tensors.safetensors + blobs/ (train, rng, data)'],
    ['get tag:best model/output/kernel -o kernel.npy', 'one tensor, reading only its chunks'],
  ];
  const width = Math.max(...hints.map(([c]) => c.length));
  for (const [command, what] of hints) out(`  npx engram --repo ${shown} ${command.padEnd(width)}   # ${what}`);
}

try {
  await demo();
} catch (e) {
  process.stderr.write(`\ndemo failed after ${seconds()}: ${e instanceof DemoError ? e.message : (e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
  stopChildren.abort();
}
