/**
 * @module The bridge between engram/tfjs's `captureTrainingState` (tensors `model/…`, `optimizer/…`
 * and a `meta` that orders them) and engram/train's `TrainingState`, which CheckpointManager saves.
 *
 * | engram/tfjs                           | engram/train `TrainingState`                         |
 * |---------------------------------------|------------------------------------------------------|
 * | `model/<w>` in `meta.modelWeights` order | `model[w]` (insertion order = TF.js weight order) |
 * | `meta.optimizer.className`            | `optimizer.name`                                     |
 * | `meta.optimizer.iterations`           | `optimizer.step`                                     |
 * | `optimizer/<w>` in `meta.optimizer.weights` order | `optimizer.slots` (positional, like TF.js) |
 * | `meta.optimizer.config`               | `optimizer.hyper` (learning rate, betas, epsilon)    |
 * | `meta.optimizer.internals` (Adam's β^t) | `user.tfjsOptimizerInternals` (state, not hyper)   |
 *
 * Every value is JSON (float32 numbers and config values are exact in JSON), so the mapping
 * round-trips bit for bit.
 */
import type { JsonValue } from '../src/tensor/index.ts';
import type { OptimizerInternals, TensorData, TrainingState as TfjsTrainingState, TrainingStateMeta } from '../src/integrations/tfjs/index.ts';
import type { RestoredTrainingState, TrainingState } from '../src/train/index.ts';

/** The key in `TrainingState.user` that holds TF.js optimizer state outside `getWeights()`. */
const INTERNALS_KEY = 'tfjsOptimizerInternals';

/** The parts of a training state that TF.js does not know about. */
export type LoopState = Omit<TrainingState, 'model' | 'optimizer' | 'user'> & {
  readonly user?: Readonly<Record<string, JsonValue>>;
};

/** A captured TF.js state plus the loop's own state, as one `TrainingState` for CheckpointManager. */
export function toTrainingState(captured: TfjsTrainingState, loop: LoopState): TrainingState {
  const { meta, tensors } = captured;
  const tensor = (key: string): TensorData => {
    const t = tensors[key];
    if (!t) throw new Error(`the captured TF.js state has no tensor ${key}`);
    return t;
  };
  const o = meta.optimizer;
  const { user, ...rest } = loop;
  return {
    ...rest,
    // Insertion order is the TF.js weight order: weight names always contain a '/', so none is an
    // integer-like key that JavaScript would move to the front.
    model: Object.fromEntries(meta.modelWeights.map((name) => [name, tensor(`model/${name}`)])),
    ...(o ? {
      optimizer: {
        name: o.className, step: o.iterations,
        slots: o.weights.map((name) => ({ name, tensor: tensor(`optimizer/${name}`) })),
        hyper: o.config as Readonly<Record<string, JsonValue>>,
      },
    } : {}),
    user: { ...(user ?? {}), [INTERNALS_KEY]: o?.internals ?? null },
  };
}

/** The TF.js state `restoreTrainingState(model, …)` takes, from a checkpoint CheckpointManager restored. */
export function toTfjsState(restored: RestoredTrainingState): { tensors: Record<string, TensorData>; meta: TrainingStateMeta } {
  const tensors: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(restored.model)) tensors[`model/${name}`] = t;
  const o = restored.optimizer;
  if (o) {
    if (o.name === undefined || o.hyper === undefined) throw new Error(`checkpoint ${restored.snapshotId} has no optimizer class or config`);
    for (const s of o.slots) tensors[`optimizer/${s.name}`] = s.tensor;
  }
  const user = restored.user;
  const internals = (user !== null && typeof user === 'object' && !Array.isArray(user)
    ? (user as Readonly<Record<string, JsonValue>>)[INTERNALS_KEY] ?? null : null) as OptimizerInternals | null;
  return {
    tensors,
    meta: {
      format: 'engram.tfjs-training-state', version: 1,
      modelWeights: Object.keys(restored.model),
      optimizer: o ? { className: o.name!, config: o.hyper!, iterations: o.step, weights: o.slots.map((s) => s.name), internals } : null,
    },
  };
}
