/**
 * @module trainSteps: runs Adam steps on random mini-batches of a data set, reusing one batch
 * buffer, and calls back every `every` steps (where the workloads take their checkpoints).
 */
import type { Prng } from '../prng.ts';
import type { AdamMlp } from './adam-mlp.ts';
import type { Digits } from './digits.ts';

/** Trains `net` for `checkpoints × every` steps; `onCheckpoint` gets the step count and recent mean loss. */
export async function trainSteps(
  net: AdamMlp, data: Digits, prng: Prng,
  options: { batch: number; every: number; checkpoints: number; onCheckpoint: (step: number, loss: number) => Promise<void> | void },
): Promise<void> {
  const { batch, every, checkpoints } = options;
  const x = new Float32Array(batch * data.features);
  const y = new Int32Array(batch);
  for (let c = 0; c < checkpoints; c++) {
    let lossSum = 0;
    for (let s = 0; s < every; s++) {
      for (let b = 0; b < batch; b++) {
        const r = prng.below(data.count);
        x.set(data.x.subarray(r * data.features, (r + 1) * data.features), b * data.features);
        y[b] = data.y[r]!;
      }
      lossSum += net.trainStep(x, y, batch);
    }
    await options.onCheckpoint(net.step, lossSum / every);
  }
}
