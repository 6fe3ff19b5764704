/**
 * @module Refuses, before anything is written, a TF.js model that TF.js would save in a form it
 * cannot restore.
 *
 * What TF.js 4.22 loses without an error (found by saving and loading real models):
 * - A loss given as a function: `getTrainingConfig()` writes `loss: {}`. Loading prints
 *   "Output … is missing from loss dictionary", returns a model, and its first `fit()` throws
 *   "lossFunction is not a function". This includes TF.js's own `tf.losses.*` functions; only loss
 *   names (strings) survive. (An array or dict of functions makes `model.save()` itself throw.)
 * - A metric given as a function: saved as its snake-cased `name` (`''` when anonymous), which
 *   loading rejects ("Unknown metric my_metric").
 * - A layer, initializer, regularizer, constraint, activation or optimizer whose class is not in
 *   TF.js's serialization registry: loading throws "Unknown layer: …".
 * - A subclass that does not declare its own `className` (e.g. `class Scaled extends Dense`): it is
 *   saved under the parent's name and silently comes back as the parent class. Only visible with
 *   the model in hand, so only {@link checkModelRestorable} catches it.
 * - Optimizer state, whenever `model.save()` is called without `{ includeOptimizer: true }`.
 */
import * as tf from '@tensorflow/tfjs';
import { EngramError } from '../../errors/index.ts';

const CUSTOM_LOSS_HELP = 'Compile with a loss name such as \'meanSquaredError\' or \'categoricalCrossentropy\', ' +
  'or keep the model-building code and checkpoint with captureTrainingState()/restoreTrainingState(), ' +
  'which store weights and optimizer state and leave the loss to your code.';

/** Options of {@link checkArtifactsRestorable}. */
export interface ArtifactCheckOptions {
  /** Refuse artifacts without a training config (saved without `includeOptimizer: true`). */
  readonly requireOptimizer: boolean;
}

/**
 * Checks that TF.js can rebuild what `artifacts` describe: the training config (loss, metrics,
 * optimizer, by compiling a one-unit probe model with it, exactly as `tf.loadLayersModel` would)
 * and every class named in a layers-model topology. Throws `Unsupported` saying what would be lost
 * and what to do, or `InvalidArgument` for missing optimizer state.
 */
export function checkArtifactsRestorable(artifacts: tf.io.ModelArtifacts, options: ArtifactCheckOptions): void {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new EngramError('Unsupported', 'engram/tfjs saves JSON model topologies; this model\'s topology is a binary GraphDef');
  }
  const tc = artifacts.trainingConfig;
  if (tc == null) {
    if (options.requireOptimizer) {
      throw new EngramError('InvalidArgument',
        'the model was saved without its optimizer state: TF.js includes it only with model.save(url, { includeOptimizer: true }) ' +
        '(engram/tfjs saveModel() always passes it). For a model that was never compiled, add optimizer=optional to the ' +
        'engram:// URL (or requireOptimizer: false).', { reason: 'no-optimizer-state' });
    }
  } else {
    probeTrainingConfig(tc);
  }
  if (artifacts.format === 'layers-model' || artifacts.format === undefined) checkTopologyClasses(artifacts.modelTopology);
}

/**
 * Checks a model in hand before it is saved: what {@link checkArtifactsRestorable} checks, plus loss
 * functions (named in the error) and subclasses that would come back as their parent class, which
 * the saved JSON cannot show. Throws `Unsupported`.
 */
export function checkModelRestorable(model: tf.LayersModel): void {
  if (model.optimizer != null) {
    const loss = model.loss as unknown;
    const fns = typeof loss === 'function' ? [loss]
      : Array.isArray(loss) ? loss.filter((l) => typeof l === 'function')
        : loss !== null && typeof loss === 'object' ? Object.values(loss).filter((l) => typeof l === 'function') : [];
    if (fns.length > 0) {
      const names = fns.map((f) => (f as { name?: string }).name || '(anonymous)').join(', ');
      throw new EngramError('Unsupported',
        `model ${model.name} is compiled with a loss function (${names}), which TF.js saves as {}: the restored model would ` +
        `not train ("lossFunction is not a function"). ${CUSTOM_LOSS_HELP}`, { model: model.name, reason: 'custom-loss', loss: names });
    }
    checkRegisteredClass(model.optimizer, `optimizer ${model.optimizer.getClassName()}`);
  }
  forEachLayer(model, (layer) => checkRegisteredClass(layer, `layer ${layer.name}`));
}

function checkRegisteredClass(obj: tf.serialization.Serializable, what: string): void {
  const name = obj.getClassName();
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[name];
  if (!entry) {
    throw new EngramError('Unsupported',
      `${what} has class ${name}, which is not registered with tf.serialization.registerClass(): TF.js could save it but not load it. ` +
      'Register the class (in the loading program too), or use built-in classes.', { reason: 'unregistered-class', className: name });
  }
  if (entry[0] !== obj.constructor) {
    const own = (obj.constructor as { name?: string }).name || 'an anonymous class';
    throw new EngramError('Unsupported',
      `${what} is a ${own} but is serialized as ${name} (the class does not declare its own static className): TF.js would ` +
      `restore it as a plain ${name}, losing its behaviour. Give the class a static className and register it with ` +
      'tf.serialization.registerClass().', { reason: 'inherited-class-name', className: name, constructor: own });
  }
}

/** Visits the model and every layer, including layers inside nested models, wrappers (`layer`) and RNNs (`cell`, `cells`). */
function forEachLayer(root: tf.LayersModel, visit: (layer: tf.layers.Layer) => void): void {
  const seen = new Set<unknown>();
  const walk = (x: unknown): void => {
    if (x === null || typeof x !== 'object' || seen.has(x)) return;
    seen.add(x);
    if (x instanceof tf.layers.Layer) visit(x);
    const o = x as { layers?: unknown; layer?: unknown; cell?: unknown; cells?: unknown };
    if (Array.isArray(o.layers)) o.layers.forEach(walk);
    if (Array.isArray(o.cells)) o.cells.forEach(walk);
    walk(o.layer);
    walk(o.cell);
  };
  walk(root);
}

/** Loss names of a training config; `{}` (what a loss function becomes) and non-strings are refused. */
function lossNames(loss: unknown): string[] {
  const names = typeof loss === 'string' ? [loss]
    : Array.isArray(loss) ? loss
      : loss !== null && typeof loss === 'object' ? Object.values(loss) : [];
  if (names.length === 0 || names.some((n) => typeof n !== 'string')) {
    throw new EngramError('Unsupported',
      `the model's loss was saved by TF.js as ${JSON.stringify(loss)}: it was a function, which TF.js cannot serialize, and the ` +
      `restored model would not train ("lossFunction is not a function"). ${CUSTOM_LOSS_HELP}`, { reason: 'custom-loss' });
  }
  return names as string[];
}

function metricNames(metrics: unknown): unknown[] {
  if (metrics == null) return [];
  if (Array.isArray(metrics)) return metrics;
  if (typeof metrics === 'object') return Object.values(metrics).flat();
  return [metrics];
}

/**
 * Compiles a throwaway one-unit model with the training config, loss by loss, through the same
 * `loadTrainingConfig()` that `tf.loadLayersModel` calls, so that what TF.js would reject at load
 * time is rejected now. The probe's names are explicit so that it does not advance TF.js's layer
 * name counters (which would rename the user's next auto-named layer), and its kernel is zeros so
 * that it draws no random numbers.
 */
function probeTrainingConfig(tc: tf.io.TrainingConfig): void {
  const losses = lossNames(tc.loss);
  const metrics = metricNames(tc.metrics);
  const bad = metrics.find((m) => typeof m !== 'string' || m === '');
  if (bad !== undefined) {
    throw new EngramError('Unsupported',
      `a metric of the model was saved by TF.js as ${JSON.stringify(bad)}: it was an anonymous or custom function, which TF.js ` +
      'cannot restore. Compile with metric names (e.g. \'accuracy\'), or compute custom metrics outside compile().', { reason: 'custom-metric' });
  }
  const probe = tf.sequential({
    name: 'engram_restorability_probe',
    layers: [tf.layers.dense({ units: 1, inputShape: [1], name: 'engram_restorability_probe_dense', kernelInitializer: 'zeros' })],
  });
  try {
    for (const loss of losses) {
      try {
        // The layers package types loss as a union of known names; checking that is the point here.
        probe.loadTrainingConfig({ ...tc, loss, metrics: metrics as string[] } as Parameters<tf.LayersModel['loadTrainingConfig']>[0]);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        const reason = /metric/i.test(message) ? 'custom-metric' : /optimizer/i.test(message) ? 'unregistered-optimizer' : 'training-config';
        throw new EngramError('Unsupported',
          `TF.js could not restore the training config it would save (${message}); loss, metrics and optimizer must be ` +
          'names TF.js knows, e.g. loss \'meanSquaredError\', metrics [\'accuracy\'], a tf.train optimizer.', { reason }, { cause: e });
      } finally {
        probe.optimizer?.dispose();
      }
    }
  } finally {
    probe.dispose();
  }
}

/** Every `class_name` (and `activation` name) in a layers topology must be registered, or loading fails. */
function checkTopologyClasses(topology: unknown): void {
  const registry = tf.serialization.SerializationMap.getMap().classNameMap;
  const walk = (x: unknown, path: string): void => {
    if (Array.isArray(x)) {
      x.forEach((v, i) => walk(v, `${path}[${i}]`));
      return;
    }
    if (x === null || typeof x !== 'object') return;
    const o = x as Record<string, unknown>;
    const named = typeof o['class_name'] === 'string' ? o['class_name'] : undefined;
    if (named !== undefined && 'config' in o && !Object.hasOwn(registry, named)) {
      throw new EngramError('Unsupported',
        `the model topology names class ${named} (at ${path || 'the root'}), which is not registered with ` +
        'tf.serialization.registerClass(): TF.js could save it but not load it. Register the class (in the loading program ' +
        'too), or use built-in classes.', { reason: 'unregistered-class', className: named, path });
    }
    for (const key of ['activation', 'recurrent_activation']) {
      const a = o[key];
      if (typeof a === 'string' && !Object.hasOwn(registry, a)) {
        throw new EngramError('Unsupported', `the model topology names activation ${a} (at ${path}), which TF.js cannot load`, {
          reason: 'unregistered-class', className: a, path,
        });
      }
    }
    for (const [k, v] of Object.entries(o)) walk(v, path ? `${path}.${k}` : k);
  };
  walk(topology, '');
}
