/**
 * @module engram/tfjs: TensorFlow.js models in engram — an IOHandler and `engram://` routers for
 * `model.save()` / `tf.loadLayersModel()`, checks that refuse what TF.js would save but not restore,
 * training-state capture and restore for exact resumption, the bridge to engram/train's
 * `TrainingState` (CheckpointManager), continual-learning helpers (the diagonal Fisher, the EWC
 * penalty as a loss, replay batches as tensors, weights as plain tensors for anchors) and the wasm
 * backend from local files.
 * Imported only through this subpath: the core never loads TensorFlow.js.
 *
 * @example
 * import * as tf from '@tensorflow/tfjs';
 * import { registerEngramRouters, useWasmBackend } from 'engram/tfjs';
 * await useWasmBackend();
 * registerEngramRouters();
 * await model.save('engram:///data/ckpt?run=mnist&step=100&create=true', { includeOptimizer: true });
 * const again = await tf.loadLayersModel('engram:///data/ckpt?run=mnist&step=100');
 */
export { checkArtifactsRestorable, checkModelRestorable } from './check-restorable.ts';
export type { ArtifactCheckOptions } from './check-restorable.ts';
export { EngramIOHandler, engramIO, TFJS_MODEL_BLOB } from './engram-io-handler.ts';
export type { EngramIOOptions } from './engram-io-options.ts';
export { ENGRAM_SCHEME, isEngramUrl, parseEngramUrl } from './engram-url.ts';
export { readOptimizerInternals, uninterruptedAdamInternals, writeOptimizerInternals } from './optimizer-internals.ts';
export type { OptimizerInternals } from './optimizer-internals.ts';
export { registerEngramRouters } from './register-engram-routers.ts';
export { loadModel, saveModel } from './save-model.ts';
export { engramDType, tfjsDType } from './tfjs-dtype.ts';
export type { TensorData, TfjsWeightDType } from './tfjs-dtype.ts';
export { captureTrainingState, restoreTrainingState } from './training-state.ts';
export type { TensorSource, TrainingState, TrainingStateMeta } from './training-state.ts';
export { toTfjsState, toTrainingState } from './training-state-bridge.ts';
export type { LoopState } from './training-state-bridge.ts';
export { diagonalFisher } from './diagonal-fisher.ts';
export type { FisherData, FisherOptions } from './diagonal-fisher.ts';
export { EwcPenalty } from './ewc-penalty.ts';
export type { EwcTerm } from './ewc-penalty.ts';
export { modelWeights, trainableVariables } from './model-weights.ts';
export { replayBatch, toTfTensors } from './replay-batch.ts';
export type { SampledBuffer } from './replay-batch.ts';
export { useWasmBackend } from './use-wasm-backend.ts';
export type { WasmBackendInfo } from './use-wasm-backend.ts';
