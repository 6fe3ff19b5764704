/**
 * @module `npm run bench:train`: what checkpointing costs a training loop. Trains the demo's
 * TensorFlow.js digits classifier (demo/digits-trainer.ts, wasm backend) for a fixed number of
 * steps without checkpoints, and the same steps with a CheckpointManager saving the full training
 * state asynchronously every 10 steps (ENGRAM_BENCH_EVERY=N for another interval) into a temporary fs repository (durable: every commit is
 * fsynced). The arms (and a third, the same checkpoints without fsync) alternate in one process, five
 * times each (the order rotates every trial, so a drift in machine speed hits all of them); the medians give steps/s and the overhead against the target
 * of at most 5%. Timing covers the steps, the state captures and the wait for the last commit
 * (`manager.close()`); not model construction, nor the commit thread's one-time start-up
 * (`manager.ready()`, reported separately). Exit status 0 whatever the verdict: a benchmark
 * reports, tests decide. A run with the default settings rewrites the "Training overhead" section of
 * docs/BENCHMARKS.md (`--no-doc` leaves the page alone).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DEMO_CONFIG, DigitsTrainer } from '../demo/digits-trainer.ts';
import { useWasmBackend } from '../src/integrations/tfjs/index.ts';
import { Repository } from '../src/repo/index.ts';
import { CheckpointManager } from '../src/train/index.ts';
import { writeDocSection } from './s3-doc-section.ts';

/** Training steps per arm; ENGRAM_BENCH_STEPS=N for longer runs, which amortise the commit thread's start-up. */
const STEPS = Number(process.env.ENGRAM_BENCH_STEPS ?? 4000);
/** Steps between checkpoints: 10 is the claim; ENGRAM_BENCH_EVERY=N shows where the overhead goes. */
const EVERY = Number(process.env.ENGRAM_BENCH_EVERY ?? 10);
/** Saves staged or committing at once (CheckpointManager's maxInFlight). */
const IN_FLIGHT = Number(process.env.ENGRAM_BENCH_IN_FLIGHT ?? 2);
/** Trials per arm (ENGRAM_BENCH_TRIALS): this VM's speed drifts, so more trials give a steadier median. */
const TRIALS = Number(process.env.ENGRAM_BENCH_TRIALS ?? 5);
const TARGET = 5;
if (!Number.isSafeInteger(EVERY) || EVERY < 1) throw new Error(`ENGRAM_BENCH_EVERY must be a positive integer, got ${process.env.ENGRAM_BENCH_EVERY}`);

interface ArmResult {
  readonly seconds: number;
  readonly checkpoints: number;
  readonly backpressure: number;
  readonly stagedBytes: number;
  /** Mean time from staged to committed, in ms. */
  readonly commitMs: number;
  /** One-time start-up of the manager's commit thread (before timing starts), in ms. */
  readonly startupMs: number;
}

async function plain(steps: number): Promise<ArmResult> {
  const trainer = DigitsTrainer.create(DEMO_CONFIG);
  const t0 = performance.now();
  while (trainer.step < steps) await trainer.trainStep();
  const seconds = (performance.now() - t0) / 1000;
  trainer.dispose();
  return { seconds, checkpoints: 0, backpressure: 0, stagedBytes: 0, commitMs: 0, startupMs: 0 };
}

async function checkpointed(steps: number, dir: string, fsync = true): Promise<ArmResult> {
  const repo = await Repository.init(dir);
  let checkpoints = 0;
  let backpressure = 0;
  let stagedBytes = 0;
  let commitTotal = 0;
  const stagedAt = new Map<number, number>();
  const manager = new CheckpointManager(repo, {
    run: 'digits', policies: { kind: 'every-steps', n: EVERY }, maxInFlight: IN_FLIGHT, fsync,
    onEvent: (e) => {
      if (e.type === 'staged') {
        stagedAt.set(e.step, performance.now());
        stagedBytes = e.bytes;
      } else if (e.type === 'committed') {
        checkpoints++;
        commitTotal += performance.now() - (stagedAt.get(e.step) ?? performance.now());
      } else if (e.type === 'backpressure') {
        backpressure++;
      }
    },
  });
  // The commit thread's start-up (loading code, opening the repository) is a one-time cost like
  // building the model: paid before timing starts, and reported on its own.
  const s0 = performance.now();
  await manager.ready();
  const startupMs = performance.now() - s0;
  const trainer = DigitsTrainer.create(DEMO_CONFIG);
  const t0 = performance.now();
  while (trainer.step < steps) {
    const loss = await trainer.trainStep();
    if (trainer.step % EVERY === 0) await manager.save(trainer.step, await trainer.captureState(), { metrics: { loss } });
  }
  await manager.close();
  const seconds = (performance.now() - t0) / 1000;
  trainer.dispose();
  await repo.close();
  return { seconds, checkpoints, backpressure, stagedBytes, commitMs: commitTotal / Math.max(checkpoints, 1), startupMs };
}

/**
 * Context for the verdict: one commit of the same state with no training around it — its wall time
 * and how long it keeps the main thread (which the training loop shares) busy.
 */
async function commitAlone(dir: string): Promise<{ wallMs: number; mainThreadMs: number }> {
  const repo = await Repository.init(dir);
  const manager = new CheckpointManager(repo, { run: 'digits', async: false });
  const trainer = DigitsTrainer.create(DEMO_CONFIG);
  const states = [];
  for (let i = 0; i < 20; i++) {
    for (let k = 0; k < EVERY; k++) await trainer.trainStep();
    states.push({ step: trainer.step, state: await trainer.captureState() });
  }
  const wall: number[] = [];
  const busy: number[] = [];
  for (const { step, state } of states) {
    const elu = performance.eventLoopUtilization();
    const t0 = performance.now();
    await manager.save(step, state);
    wall.push(performance.now() - t0);
    busy.push(performance.eventLoopUtilization(elu).active);
  }
  await manager.close();
  trainer.dispose();
  await repo.close();
  return { wallMs: median(wall), mainThreadMs: median(busy) };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rate = (r: ArmResult, steps: number): string => `${(steps / r.seconds).toFixed(0)} steps/s`;

const loadAtStart = loadavg();
await useWasmBackend();
const work = await mkdtemp(join(tmpdir(), 'engram-train-overhead-'));
try {
  process.stdout.write(`train-overhead: demo digits model (${DEMO_CONFIG.hidden.join('-')} MLP, Adam, batch ${DEMO_CONFIG.batch}) on TF.js ${tf.version.tfjs} ${tf.getBackend()}, ` +
    `${STEPS} steps per run, async checkpoint every ${EVERY} steps into a durable fs repository in ${tmpdir()}\n`);
  // Warm-up: the wasm kernels, the codec and the repository code paths, untimed.
  await plain(100);
  await checkpointed(100, join(work, 'warmup'));

  const base: ArmResult[] = [];
  const ckpt: ArmResult[] = [];
  // The same checkpoints without fsync: what the disk's durability costs the other core here.
  const loose: ArmResult[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const arms = [
      async () => base.push(await plain(STEPS)),
      async () => ckpt.push(await checkpointed(STEPS, join(work, `trial-${trial}`))),
      async () => loose.push(await checkpointed(STEPS, join(work, `trial-${trial}-nofsync`), false)),
    ];
    // Rotate the order every trial, so a drift in machine speed hits every arm.
    for (let k = 0; k < trial; k++) arms.push(arms.shift()!);
    for (const arm of arms) await arm();
    const b = base[trial]!;
    const c = ckpt[trial]!;
    const l = loose[trial]!;
    process.stdout.write(`trial ${trial + 1}: no checkpoints ${rate(b, STEPS)} (${b.seconds.toFixed(2)} s)   ` +
      `checkpoints ${rate(c, STEPS)} (${c.seconds.toFixed(2)} s; ${c.checkpoints} commits of ${(c.stagedBytes / 1024).toFixed(0)} KiB, ` +
      `${c.commitMs.toFixed(1)} ms staged→committed, ${c.backpressure} backpressure waits; commit thread started in ${c.startupMs.toFixed(0)} ms before timing)   ` +
      `without fsync ${rate(l, STEPS)}\n`);
  }
  const b = median(base.map((r) => r.seconds));
  const c = median(ckpt.map((r) => r.seconds));
  const l = median(loose.map((r) => r.seconds));
  const overhead = (c / b - 1) * 100;
  const looseOverhead = (l / b - 1) * 100;
  // Also per trial, each arm against the plain arm of the same trial (the verdict stays on the medians above).
  const paired = median(ckpt.map((r, i) => (r.seconds / base[i]!.seconds - 1) * 100));
  process.stdout.write(`\nmedian of ${TRIALS}: no checkpoints ${(STEPS / b).toFixed(0)} steps/s, checkpoint every ${EVERY} steps ${(STEPS / c).toFixed(0)} steps/s, ` +
    `the same without fsync ${(STEPS / l).toFixed(0)} steps/s\n`);
  process.stdout.write(`overhead ${overhead.toFixed(1)}% (target ≤ ${TARGET}%): ${overhead <= TARGET ? 'PASS' : 'FAIL'}; without fsync (\`fsync: false\`) ${looseOverhead.toFixed(1)}%; ` +
    `median of the per-trial overheads ${paired.toFixed(1)}%\n`);
  const alone = await commitAlone(join(work, 'alone'));
  const stepMs = (1000 * b) / STEPS;
  const context = `a commit with no training around it takes ${alone.wallMs.toFixed(1)} ms, ${alone.mainThreadMs.toFixed(1)} ms of it on the main thread; ` +
    `${EVERY} training steps take ${(EVERY * stepMs).toFixed(1)} ms`;
  process.stdout.write(`context: ${context}\n`);
  const defaults = process.env.ENGRAM_BENCH_STEPS === undefined && process.env.ENGRAM_BENCH_EVERY === undefined && process.env.ENGRAM_BENCH_IN_FLIGHT === undefined
    && process.env.ENGRAM_BENCH_TRIALS === undefined;
  if (defaults && !process.argv.includes('--no-doc')) {
    const trials = base.map((bt, i) => `${(STEPS / bt.seconds).toFixed(0)} / ${(STEPS / ckpt[i]!.seconds).toFixed(0)} / ${(STEPS / loose[i]!.seconds).toFixed(0)}`).join(', ');
    await writeDocSection(new URL('../docs/BENCHMARKS.md', import.meta.url).pathname, 'Training overhead (bench:train)', `
\`npm run bench:train\` (bench/train-overhead.ts) trains the demo's TensorFlow.js model (wasm backend) for ${STEPS} steps
without checkpoints and the same steps with a CheckpointManager saving the full training state
asynchronously every ${EVERY} steps (\`maxInFlight\` ${IN_FLIGHT}) into a durable local repository, alternating, ${TRIALS} trials each.
Timing covers the training steps, the state captures, the saves and the wait for the last commit; not
building the model, nor the commit thread's one-time start-up (\`await manager.ready()\`, ${median(ckpt.map((r) => r.startupMs)).toFixed(0)} ms here:
loading code and opening the repository), which a run pays once whatever its length.

| | |
|---|---|
| date | ${new Date().toISOString().slice(0, 10)} |
| load average before the run | ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} (other work on the machine slows both arms unevenly) |
| steps/s per trial (no checkpoints / checkpoints / checkpoints without fsync) | ${trials} |
| median steps/s | ${(STEPS / b).toFixed(0)} without, ${(STEPS / c).toFixed(0)} with checkpoints, ${(STEPS / l).toFixed(0)} with checkpoints not fsynced |
| overhead (durable: every commit fsynced, the default) | **${overhead.toFixed(1)} %** (target ≤ ${TARGET} %): ${overhead <= TARGET ? 'PASS' : 'FAIL'} |
| overhead without fsync (\`fsync: false\`: survives a crash of the process, not of the machine) | ${looseOverhead.toFixed(1)} % |
| median of the per-trial overheads (each trial's checkpointed arm against its own plain arm; not the verdict) | ${paired.toFixed(1)} % |
| context | ${context} |

How far to trust one run: on this virtual machine, runs of this benchmark after this session's last
change gave, for the durable arm, 3.2, 3.7, 8.2, 9.4, 10.0 % (3 trials each) and 6.8, 11.7 % (5
trials), and without fsync 4.4–11.6 % and 10.6, 0.6 % — the machine's speed drifts by more than the
effect between arms, which is why it now runs 5 trials per arm and also prints the median of the
per-trial overheads. One probe (a separate nice-19 process committing the same
203 KiB state every 20 ms) slowed training by ~7 % with fsync and not measurably without, which
points at fsync on this VM; repeated runs have not confirmed it beyond the noise.
`);
    process.stdout.write('wrote the "Training overhead (bench:train)" section of docs/BENCHMARKS.md\n');
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
