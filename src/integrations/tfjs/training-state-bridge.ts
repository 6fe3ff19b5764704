/**
 * @module The bridge between {@link captureTrainingState}'s TF.js state (tensors `model/…`,
 * `optimizer/…` and a `meta` that orders them) and engram/train's `TrainingState`, which
 * CheckpointManager saves, stages and restores.
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
 * round-trips bit for bit. The loop's own state (RNG, data position, LR schedule, metrics history,
 * extension namespaces such as a replay buffer) passes through unchanged.
 */
import { EngramError } from '../../errors/index.ts';
import type { JsonValue, TensorData } from '../../tensor/index.ts';
import type { RestoredTrainingState, TrainingState } from '../../train/index.ts';
import type { OptimizerInternals } from './optimizer-internals.ts';
import type { TrainingState as TfjsTrainingState, TrainingStateMeta } from './training-state.ts';

/** The key in `TrainingState.user` that holds TF.js optimizer state outside `getWeights()`. */
const INTERNALS_KEY = 'tfjsOptimizerInternals';

/** The parts of a training state that TF.js does not know about: RNG, data position, schedule, history, namespaces, user state. */
export type LoopState = Omit<TrainingState, 'model' | 'optimizer' | 'user'> & {
  readonly user?: Readonly<Record<string, JsonValue>>;
};

/**
 * A captured TF.js state plus the loop's own state, as one `TrainingState` for CheckpointManager.
 * The tensors are the captured ones (no copy). `InvalidArgument` when `meta` names a tensor that
 * `tensors` lacks.
 *
 * @example
 * const state = toTrainingState(await captureTrainingState(model), { rng: { data: rng.getState() }, data: { epoch, index } });
 * await manager.save(step, state, { metrics: { loss } });
 */
export function toTrainingState(captured: TfjsTrainingState, loop: LoopState): TrainingState {
  const { meta, tensors } = captured;
  const tensor = (key: string): TensorData => {
    const t = tensors[key];
    if (!t) throw new EngramError('InvalidArgument', `the captured TF.js state has no tensor ${key}`, { tensor: key });
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

/**
 * The TF.js state `restoreTrainingState(model, …)` takes, from a checkpoint CheckpointManager
 * restored. `InvalidArgument` when the checkpoint's optimizer has no class or config (it was not
 * saved through {@link toTrainingState}).
 *
 * @example
 * const restored = await manager.restore('latest');
 * await restoreTrainingState(model, toTfjsState(restored));
 */
export function toTfjsState(restored: RestoredTrainingState): { tensors: Record<string, TensorData>; meta: TrainingStateMeta } {
  const tensors: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(restored.model)) tensors[`model/${name}`] = t;
  const o = restored.optimizer;
  if (o) {
    if (o.name === undefined || o.hyper === undefined) {
      throw new EngramError('InvalidArgument', `checkpoint ${restored.snapshotId} has no optimizer class or config`, { snapshot: restored.snapshotId });
    }
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
