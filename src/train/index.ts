/**
 * @module Public surface of train/: the training-state record and its snapshot mapping, the seedable
 * RNG, CheckpointManager (save policies, two-stage async saves, retention, best tag, resume,
 * rollback, preemption), the promotion guard and the names of extension namespaces.
 */
export { CheckpointManager } from './checkpoint-manager.ts';
export type {
  BestTagOptions, CheckpointHandle, CheckpointManagerOptions, RestoreTarget, SaveCheckpointOptions,
} from './checkpoint-manager-options.ts';
export type { FinalCheckpoint, PreemptionOptions, PreemptionOutcome } from './preemption.ts';
export type { CheckpointEvent } from './checkpoint-event.ts';
export { checkSavePolicies, decideSave, describeSavePolicy } from './save-policy.ts';
export type { SaveDecision, SavePolicy, SavePolicyContext } from './save-policy.ts';
export { guardPromotion } from './promotion-guard.ts';
export type { PromotionFinding, PromotionGuardOptions, PromotionSide } from './promotion-guard.ts';
export { Rng, RNG_ALGORITHM } from './rng.ts';
export type { RngState } from './rng.ts';
export { checkLayouts, compareLayouts } from './slot-layout.ts';
export type { LayoutMismatch, SlotSpec } from './slot-layout.ts';
export { decodeStateJson, encodeStateJson } from './state-json.ts';
export { checkNamespaceName, checkNamespacesDisjoint, RESERVED_NAMESPACES } from './state-namespace.ts';
export {
  encodeTrainingState, readTrainingState, TRAINING_STATE_FORMAT, TRAINING_STATE_NAMES, TRAINING_STATE_VERSION,
} from './training-snapshot.ts';
export type { EncodedTrainingState, RestoreInto } from './training-snapshot.ts';
export type {
  DataPosition, MetricsRecord, OptimizerSlot, OptimizerState, RestoredNamespace, RestoredTrainingState, StateNamespace, TensorLike,
  TrainingState,
} from './training-state.ts';
