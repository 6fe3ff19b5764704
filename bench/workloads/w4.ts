/**
 * @module W4: fine-tuning with 90 % of the weights frozen. Starting from W3's last checkpoint, a
 * fresh Adam trains only the last block, the output norm and the head (10.05 % of the parameter
 * bytes) on the digits mirrored left to right, for five checkpoints 50 steps apart. The frozen
 * tensors keep their exact bytes, as they do under requires_grad=False.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { cachePath, isCached } from '../cached-tensor-set.ts';
import { Prng } from '../prng.ts';
import { readTensorSet, writeTensorSet, type TensorSet } from '../tensor-set.ts';
import { AdamMlp, BENCH_MLP } from '../train/adam-mlp.ts';
import { loadDigits, mirrorDigits } from '../train/digits.ts';
import { trainSteps } from '../train/train-loop.ts';
import type { TrainedCheckpoint } from './w3.ts';

export const W4_CHECKPOINTS = 5;
const EVERY = 50;
const BATCH = 4;
const VERSION = 'w4-v1-from-w3-v1';

/** The parameters W4 trains: the last block, the output norm and the head. */
export function w4Trainable(names: readonly string[]): Set<string> {
  const last = `model/blocks.${BENCH_MLP.blocks - 1}.`;
  return new Set(names.filter((n) => n.startsWith(last) || n.startsWith('model/out_norm.') || n.startsWith('model/head.')));
}

const key = (i: number): string => `${VERSION}/ft-${i}`;

/** The fine-tuning checkpoints (parameters only), trained once from `base` and then cached. */
export async function loadW4(base: TensorSet, log: (s: string) => void = () => {}): Promise<TrainedCheckpoint[]> {
  const ids = Array.from({ length: W4_CHECKPOINTS }, (_, i) => i + 1);
  if (ids.every((i) => isCached(key(i)))) {
    return Promise.all(ids.map(async (i) => ({ step: i * EVERY, state: await readTensorSet(cachePath(key(i))) })));
  }
  const t0 = performance.now();
  const net = AdamMlp.fromParams(BENCH_MLP, base);
  net.setTrainable(w4Trainable(net.paramNames));
  const out: TrainedCheckpoint[] = [];
  let i = 0;
  await trainSteps(net, mirrorDigits(loadDigits()), new Prng(0x5eed_0005), {
    batch: BATCH, every: EVERY, checkpoints: W4_CHECKPOINTS,
    onCheckpoint: async (step, loss) => {
      const state = net.checkpoint(false);
      i++;
      await mkdir(dirname(cachePath(key(i))), { recursive: true });
      await writeTensorSet(cachePath(key(i)), state);
      out.push({ step, state });
      log(`  W4 fine-tuning: step ${step}, loss ${loss.toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    },
  });
  return out;
}
