/**
 * @module saveModel and loadModel: the model-aware way to keep a TF.js LayersModel in engram.
 *
 * `model.save('engram://…')` sees only the artifacts TF.js hands over; these functions see the model,
 * so they can always include the optimizer, catch subclasses that would come back as their parent
 * class, and make a restored Adam continue bit for bit (optimizer-internals.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { Snapshot } from '../../repo/index.ts';
import { checkModelRestorable } from './check-restorable.ts';
import { EngramIOHandler } from './engram-io-handler.ts';
import type { EngramIOOptions } from './engram-io-options.ts';
import { parseEngramUrl } from './engram-url.ts';
import { readOptimizerInternals, writeOptimizerInternals } from './optimizer-internals.ts';

/**
 * Saves a LayersModel — topology, weights, training config and the whole optimizer state — as a
 * new snapshot, after checking that TF.js can restore all of it (`Unsupported` naming what would be
 * lost otherwise; nothing is written). Returns the committed snapshot.
 *
 * @example
 * const snap = await saveModel(model, 'engram:///data/ckpt?run=mnist&step=100&create=true');
 */
export async function saveModel(model: tf.LayersModel, target: string | EngramIOOptions): Promise<Snapshot> {
  checkModelRestorable(model);
  const internals = model.optimizer != null ? await readOptimizerInternals(model.optimizer) : null;
  const options = typeof target === 'string' ? parseEngramUrl(target) : target;
  // The model is in hand: it has optimizer state exactly when it has an optimizer.
  const handler = new EngramIOHandler({ ...options, requireOptimizer: model.optimizer != null }, internals);
  await model.save(handler, { includeOptimizer: true });
  return handler.snapshot!;
}

/**
 * Loads a model saved by {@link saveModel}, `model.save('engram://…')` or {@link EngramIOHandler}
 * through `tf.loadLayersModel`, then restores the optimizer state TF.js's own loading rebuilds
 * inexactly (Adam's running products), so that training continues bit for bit.
 *
 * @example
 * const model = await loadModel('engram:///data/ckpt?run=mnist');   // the run's latest snapshot
 */
export async function loadModel(source: string | EngramIOOptions, options?: tf.io.LoadOptions): Promise<tf.LayersModel> {
  const handler = new EngramIOHandler(source);
  const model = await tf.loadLayersModel(handler, options);
  if (model.optimizer != null) writeOptimizerInternals(model.optimizer, handler.loadedInternals);
  return model;
}
