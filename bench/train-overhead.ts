/**
 * @module `npm run bench:train`: what checkpointing costs a training loop. Trains the demo's
 * TensorFlow.js digits classifier (demo/digits-trainer.ts, wasm backend) in blocks of 2000 steps
 * (ENGRAM_BENCH_BLOCK), alternating blocks without checkpoints and blocks with a CheckpointManager
 * saving the full training state asynchronously every 10 steps (ENGRAM_BENCH_EVERY) into a
 * temporary fs repository (durable: every commit is fsynced), 12 pairs of blocks
 * (ENGRAM_BENCH_CYCLES), then a shorter series the same way against checkpoints without fsync.
 *
 * Why blocks of one run rather than whole runs side by side: this VM's speed drifts by more than
 * the effect over tens of seconds, and two freshly built models can train at different speeds
 * (where their buffers land in the wasm heap); one model instance trained in alternating blocks
 * a few seconds long, the first of each pair switching every cycle, gives both arms the same
 * machine. A checkpointed block ends by waiting for its last commit (`manager.wait()`), and that
 * wait is timed, so no commit spills into the next plain block. The verdict is the summed time of
 * the checkpointed blocks over the summed time of the plain ones; the spread of the per-pair ratios
 * is printed beside it. Timing covers the steps, the state captures, the saves and the waits; not
 * model construction, nor the commit thread's one-time start-up (`manager.ready()`, reported
 * separately). Exit status 0 whatever the verdict: a benchmark reports, tests decide. A run with
 * the default settings rewrites the "Training overhead" section of docs/BENCHMARKS.md (`--no-doc`
 * leaves the page alone).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DEMO_CONFIG, DigitsTrainer } from '../demo/digits-trainer.ts';
import { useWasmBackend } from '../src/integrations/tfjs/index.ts';
import { Repository } from '../src/repo/index.ts';
import { CheckpointManager } from '../src/train/index.ts';
import { writeDocSection } from './s3-doc-section.ts';

/** Steps per block; ENGRAM_BENCH_BLOCK=N. A checkpointed block pays one final commit wait, so longer blocks amortise it. */
const BLOCK = positive('ENGRAM_BENCH_BLOCK', 2000);
/** Pairs of blocks (plain, checkpointed) against durable checkpoints; ENGRAM_BENCH_CYCLES=N. */
const CYCLES = positive('ENGRAM_BENCH_CYCLES', 12);
/** Pairs against checkpoints without fsync (context, not the verdict): half as many. */
const LOOSE_CYCLES = Math.max(2, Math.floor(CYCLES / 2));
/** Steps between checkpoints: 10 is the claim; ENGRAM_BENCH_EVERY=N shows where the overhead goes. */
const EVERY = positive('ENGRAM_BENCH_EVERY', 10);
/** Saves staged or committing at once (CheckpointManager's maxInFlight). */
const IN_FLIGHT = positive('ENGRAM_BENCH_IN_FLIGHT', 2);
const TARGET = 5;

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

/** The timed blocks of one series: plain and checkpointed, pair by pair, in ms. */
interface Series {
  readonly plain: number[];
  readonly checkpointed: number[];
  commits: number;
  backpressure: number;
  stagedBytes: number;
  /** Summed time from staged to committed, in ms. */
  commitMs: number;
  /** One-time start-up of the manager's commit thread (before timing starts), in ms. */
  startupMs: number;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const quantile = (xs: readonly number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

/**
 * Trains `trainer` in `cycles` pairs of blocks, one without checkpoints and one with a checkpoint
 * every EVERY steps into a new repository at `dir`; which block of a pair comes first switches
 * every pair, so a steady drift in the machine's speed cancels.
 */
async function series(trainer: DigitsTrainer, dir: string, cycles: number, fsync: boolean): Promise<Series> {
  const repo = await Repository.init(dir);
  const out: Series = { plain: [], checkpointed: [], commits: 0, backpressure: 0, stagedBytes: 0, commitMs: 0, startupMs: 0 };
  const stagedAt = new Map<number, number>();
  const manager = new CheckpointManager(repo, {
    run: 'digits', policies: { kind: 'every-steps', n: EVERY }, maxInFlight: IN_FLIGHT, fsync,
    onEvent: (e) => {
      if (e.type === 'staged') {
        stagedAt.set(e.step, performance.now());
        out.stagedBytes = e.bytes;
      } else if (e.type === 'committed') {
        out.commits++;
        out.commitMs += performance.now() - (stagedAt.get(e.step) ?? performance.now());
        stagedAt.delete(e.step);
      } else if (e.type === 'backpressure') {
        out.backpressure++;
      }
    },
  });
  // The commit thread's start-up (loading code, opening the repository) is a one-time cost like
  // building the model: paid before timing starts, and reported on its own.
  const s0 = performance.now();
  await manager.ready();
  out.startupMs = performance.now() - s0;
  const plainBlock = async (): Promise<void> => {
    const t0 = performance.now();
    for (let i = 0; i < BLOCK; i++) await trainer.trainStep();
    out.plain.push(performance.now() - t0);
  };
  const checkpointedBlock = async (): Promise<void> => {
    const t0 = performance.now();
    for (let i = 0; i < BLOCK; i++) {
      const loss = await trainer.trainStep();
      if (trainer.step % EVERY === 0) await manager.save(trainer.step, await trainer.captureState(), { metrics: { loss } });
    }
    // Timed: the block is done when its checkpoints are durable.
    await manager.wait();
    out.checkpointed.push(performance.now() - t0);
  };
  for (let c = 0; c < cycles; c++) {
    if (c % 2 === 0) {
      await plainBlock();
      await checkpointedBlock();
    } else {
      await checkpointedBlock();
      await plainBlock();
    }
  }
  await manager.close();
  await repo.close();
  return out;
}

/** Overhead of a series in %: summed checkpointed time over summed plain time. */
const overheadOf = (s: Series): number => (sum(s.checkpointed) / sum(s.plain) - 1) * 100;
/** Each pair's overhead in %. */
const pairsOf = (s: Series): number[] => s.checkpointed.map((c, i) => (c / s.plain[i]! - 1) * 100);
const stepsPerSecond = (ms: readonly number[]): number => (BLOCK * ms.length) / (sum(ms) / 1000);

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

const loadAtStart = loadavg();
await useWasmBackend();
const work = await mkdtemp(join(tmpdir(), 'engram-train-overhead-'));
try {
  process.stdout.write(`train-overhead: demo digits model (${DEMO_CONFIG.hidden.join('-')} MLP, Adam, batch ${DEMO_CONFIG.batch}) on TF.js ${tf.version.tfjs} ${tf.getBackend()}, ` +
    `${CYCLES} pairs of ${BLOCK}-step blocks, async checkpoint every ${EVERY} steps into a durable fs repository in ${tmpdir()}\n`);
  const trainer = DigitsTrainer.create(DEMO_CONFIG);
  // Warm-up: the wasm kernels, the codec and the repository code paths, untimed.
  for (let i = 0; i < 200; i++) await trainer.trainStep();
  await series(trainer, join(work, 'warmup'), 1, true);

  const durable = await series(trainer, join(work, 'durable'), CYCLES, true);
  const overhead = overheadOf(durable);
  const pairs = pairsOf(durable);
  process.stdout.write(`durable: ${stepsPerSecond(durable.plain).toFixed(0)} steps/s without checkpoints, ${stepsPerSecond(durable.checkpointed).toFixed(0)} with ` +
    `(${durable.commits} commits of ${(durable.stagedBytes / 1024).toFixed(0)} KiB, ${(durable.commitMs / Math.max(durable.commits, 1)).toFixed(1)} ms staged→committed, ` +
    `${durable.backpressure} backpressure waits); per pair ${pairs.map((p) => p.toFixed(1)).join(' ')} %\n`);
  // The same checkpoints without fsync: what the disk's durability costs the other core here.
  const loose = await series(trainer, join(work, 'nofsync'), LOOSE_CYCLES, false);
  const looseOverhead = overheadOf(loose);
  process.stdout.write(`without fsync: ${stepsPerSecond(loose.plain).toFixed(0)} steps/s without checkpoints, ${stepsPerSecond(loose.checkpointed).toFixed(0)} with; ` +
    `per pair ${pairsOf(loose).map((p) => p.toFixed(1)).join(' ')} %\n`);
  trainer.dispose();

  process.stdout.write(`\noverhead ${overhead.toFixed(1)}% (target ≤ ${TARGET}%): ${overhead <= TARGET ? 'PASS' : 'FAIL'}; ` +
    `per-pair median ${median(pairs).toFixed(1)}%, middle half ${quantile(pairs, 0.25).toFixed(1)} to ${quantile(pairs, 0.75).toFixed(1)}%; ` +
    `without fsync (\`fsync: false\`) ${looseOverhead.toFixed(1)}%\n`);
  const alone = await commitAlone(join(work, 'alone'));
  const stepMs = sum(durable.plain) / (BLOCK * durable.plain.length);
  const context = `a commit with no training around it takes ${alone.wallMs.toFixed(1)} ms, ${alone.mainThreadMs.toFixed(1)} ms of it on the main thread; ` +
    `${EVERY} training steps take ${(EVERY * stepMs).toFixed(1)} ms`;
  process.stdout.write(`context: ${context}\n`);
  const defaults = ['ENGRAM_BENCH_BLOCK', 'ENGRAM_BENCH_CYCLES', 'ENGRAM_BENCH_EVERY', 'ENGRAM_BENCH_IN_FLIGHT'].every((k) => process.env[k] === undefined);
  if (defaults && !process.argv.includes('--no-doc')) {
    await writeDocSection(new URL('../docs/BENCHMARKS.md', import.meta.url).pathname, 'Training overhead (bench:train)', `
\`npm run bench:train\` (bench/train-overhead.ts) trains the demo's TensorFlow.js model (wasm backend) in
blocks of ${BLOCK} steps, alternating blocks without checkpoints and blocks with a CheckpointManager saving
the full training state asynchronously every ${EVERY} steps (\`maxInFlight\` ${IN_FLIGHT}) into a durable local
repository: ${CYCLES} pairs of blocks, the first of each pair switching every pair, on one model instance.
Whole runs side by side proved too noisy here: this VM's speed drifts by more than the effect over
tens of seconds, and two freshly built models can train at different speeds. A checkpointed block
ends by waiting for its last commit, and that wait is timed. Timing covers the training steps, the
state captures, the saves and the waits; not building the model, nor the commit thread's one-time
start-up (\`await manager.ready()\`, ${durable.startupMs.toFixed(0)} ms here: loading code and opening the
repository), which a run pays once whatever its length.

| | |
|---|---|
| date | ${new Date().toISOString().slice(0, 10)} |
| load average before the run | ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} (other work on the machine slows the arms unevenly) |
| steps/s | ${stepsPerSecond(durable.plain).toFixed(0)} without checkpoints, ${stepsPerSecond(durable.checkpointed).toFixed(0)} with (${durable.commits} commits of ${(durable.stagedBytes / 1024).toFixed(0)} KiB, ${(durable.commitMs / Math.max(durable.commits, 1)).toFixed(1)} ms from staged to committed, ${durable.backpressure} backpressure waits) |
| overhead (durable: every commit fsynced, the default) | **${overhead.toFixed(1)} %** (target ≤ ${TARGET} %): ${overhead <= TARGET ? 'PASS' : 'FAIL'} |
| overhead per pair of blocks | median ${median(pairs).toFixed(1)} %, middle half ${quantile(pairs, 0.25).toFixed(1)} to ${quantile(pairs, 0.75).toFixed(1)} %, all: ${pairs.map((p) => p.toFixed(1)).join(', ')} |
| overhead without fsync (\`fsync: false\`: survives a crash of the process, not of the machine; ${LOOSE_CYCLES} pairs) | ${looseOverhead.toFixed(1)} % |
| context | ${context} |
`);
    process.stdout.write('wrote the "Training overhead (bench:train)" section of docs/BENCHMARKS.md\n');
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
