/**
 * @module The demo's training process: trains the digits classifier (digits-trainer.ts) on the
 * TensorFlow.js wasm backend, checkpointing its full state through a CheckpointManager — async saves
 * every `--every` steps and at the end, the `best` tag by validation accuracy, retention of the last
 * 5 — or, with `--resume`, first restores the run's latest checkpoint and continues from it.
 *
 * demo.ts runs it as a child process and SIGKILLs it mid-run. Lines starting with `@` are for
 * demo.ts (`@step N` after every step, `@resumed N`, `@committed N`); the others are for people.
 *
 *   node --import tsx demo/train-digits.ts --repo PATH --run NAME --steps N --every N [--resume]
 */
import { parseArgs } from 'node:util';
import { isEngramError } from '../src/errors/index.ts';
import { useWasmBackend } from '../src/integrations/tfjs/index.ts';
import { Repository } from '../src/repo/index.ts';
import { CheckpointManager, type CheckpointEvent } from '../src/train/index.ts';
import { DEMO_CONFIG, DigitsTrainer } from './digits-trainer.ts';

const { values: args } = parseArgs({
  options: {
    repo: { type: 'string' }, run: { type: 'string' }, steps: { type: 'string' }, every: { type: 'string' }, resume: { type: 'boolean', default: false },
  },
  strict: true,
});
const total = Number(args.steps);
const every = Number(args.every);
if (!args.repo || !args.run || !(Number.isSafeInteger(total) && total > 0) || !(Number.isSafeInteger(every) && every > 0)) {
  process.stderr.write('usage: train-digits.ts --repo PATH --run NAME --steps N --every N [--resume]\n');
  process.exit(2);
}
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

try {
  await useWasmBackend();
  const repo = await Repository.open(args.repo);
  const manager = new CheckpointManager(repo, {
    run: args.run,
    policies: { kind: 'every-steps', n: every },
    best: { metric: 'val_accuracy' },
    retention: [{ kind: 'last', n: 5 }],
    onEvent: (e: CheckpointEvent) => {
      if (e.type === 'committed') out(`@committed ${e.step}`);
      else if (e.type === 'best') out(`         ↳ new best: ${args.run}@${e.step} val_accuracy ${pct(e.value)}, tagged ${e.tag}`);
      else if (e.type === 'error') process.stderr.write(`checkpoint error at step ${'step' in e ? e.step : '?'}: ${String(e.error)}\n`);
    },
  });

  const trainer = DigitsTrainer.create(DEMO_CONFIG);
  if (args.resume) {
    const latest = await manager.latestStep();
    if (latest === undefined) throw new Error(`run ${args.run} has no checkpoint to resume from`);
    const s = await manager.restore('latest');
    await trainer.restoreState(s);
    out(`@resumed ${s.step}`);
    out(`resumed ${args.run}@${s.step} (${s.snapshotId}): weights, Adam (step ${s.optimizer?.step}, ${s.optimizer?.slots.length} slots), ` +
      `data RNG, epoch ${s.data?.epoch} batch ${s.data?.index}, ${s.metricsHistory?.length} metrics records`);
  } else {
    out(`training ${args.run}: ${trainer.model.countParams().toLocaleString('en')} parameters, ${trainer.data.train.count} training / ` +
      `${trainer.data.val.count} validation images, ${trainer.batchesPerEpoch} batches of ${trainer.config.batch} per epoch, ${total} steps`);
  }

  while (trainer.step < total) {
    await trainer.trainStep();
    out(`@step ${trainer.step}`);
    if (trainer.step % every !== 0 && trainer.step !== total) continue;
    const metrics = trainer.record();
    const state = await trainer.captureState();
    const h = await manager.save(trainer.step, state, { metrics, force: trainer.step === total, message: `epoch ${trainer.epoch}, batch ${trainer.index}` });
    out(`  step ${String(trainer.step).padStart(4)}  epoch ${String(trainer.epoch).padStart(2)}  loss ${metrics.loss.toFixed(4)}  ` +
      `val_loss ${metrics.val_loss.toFixed(4)}  val_accuracy ${pct(metrics.val_accuracy).padStart(6)}  ${h.saved ? 'checkpoint staged' : h.reason}`);
  }
  await manager.close();
  await repo.close();
  trainer.dispose();
  out(`finished ${args.run}@${total}`);
} catch (e) {
  // One clear line for demo.ts to show; the stack only when it is not an engram error.
  process.stderr.write(`train-digits (${args.run}): ${isEngramError(e) ? `${e.code}: ${e.message}` : (e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
}
