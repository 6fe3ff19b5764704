/**
 * @module W3: ten checkpoints, 50 Adam steps apart, of a 4.16 M-parameter residual MLP trained for
 * real on the handwritten digits (batch 4, lr 1e-3) — like shared/corpus/ckpt_seq, which holds
 * three PyTorch checkpoints 50 Adam steps apart of a small transformer. Each cached checkpoint holds
 * the parameters and Adam's exp_avg / exp_avg_sq; the workloads pick what they save.
 */
import { cachePath, isCached } from '../cached-tensor-set.ts';
import { Prng } from '../prng.ts';
import { readTensorSet, selectSlots, writeTensorSet, type TensorSet } from '../tensor-set.ts';
import { AdamMlp, BENCH_MLP } from '../train/adam-mlp.ts';
import { loadDigits } from '../train/digits.ts';
import { trainSteps } from '../train/train-loop.ts';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Checkpoints in the sequence, and Adam steps between them. */
export const W3_CHECKPOINTS = 10;
export const W3_EVERY = 50;
const BATCH = 4;
const VERSION = 'w3-v1';

/** One checkpoint of the sequence. */
export interface TrainedCheckpoint {
  readonly step: number;
  /** Parameters and Adam moments. */
  readonly state: TensorSet;
}

const key = (step: number): string => `${VERSION}/step-${String(step).padStart(4, '0')}`;

/** The sequence, trained once (tens of seconds) and then read from bench/.cache/. */
export async function loadW3(log: (s: string) => void = () => {}): Promise<TrainedCheckpoint[]> {
  const steps = Array.from({ length: W3_CHECKPOINTS }, (_, i) => (i + 1) * W3_EVERY);
  if (steps.every((s) => isCached(key(s)))) {
    return Promise.all(steps.map(async (step) => ({ step, state: await readTensorSet(cachePath(key(step))) })));
  }
  const t0 = performance.now();
  const net = new AdamMlp(BENCH_MLP, 0x5eed_0003);
  const out: TrainedCheckpoint[] = [];
  await trainSteps(net, loadDigits(), new Prng(0x5eed_0004), {
    batch: BATCH, every: W3_EVERY, checkpoints: W3_CHECKPOINTS,
    onCheckpoint: async (step, loss) => {
      const state = net.checkpoint(true);
      await mkdir(dirname(cachePath(key(step))), { recursive: true });
      await writeTensorSet(cachePath(key(step)), state);
      out.push({ step, state });
      log(`  W3 training: step ${step}, loss ${loss.toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    },
  });
  return out;
}

/** Only the parameters of a checkpoint (a view). */
export function paramsOnly(state: TensorSet): TensorSet {
  return selectSlots(state, (s) => s.name.startsWith('model/'));
}
