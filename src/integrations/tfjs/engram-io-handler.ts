/**
 * @module EngramIOHandler: a `tf.io.IOHandler` that saves TF.js model artifacts as an engram
 * snapshot and loads them back.
 *
 * A snapshot saved by it holds:
 * - one tensor per weight: `model/<weight name>`, and `optimizer/<weight name>` for the weights TF.js
 *   puts in the `optimizer` group (Adam's `iter`, then its `…/m` and `…/v` slots), so that weights
 *   deduplicate and delta-compress against other snapshots like any tensor;
 * - the blob `tfjs/model.json`: `{ format: "engram.tfjs-artifacts", version: 1, artifacts, weights }`
 *   — `artifacts` the JSON parts of the ModelArtifacts (topology, format, generatedBy, convertedBy,
 *   training config, user-defined metadata, signature) as TF.js gave them, `weights` the weight
 *   specs in their original order, each with the tensor holding its bytes (`setWeights()` of a TF.js
 *   optimizer is positional, so the order is part of the state);
 * - meta `tfjs`: format, optimizer class, iteration count and, when known, Adam's exact running
 *   products (optimizer-internals.ts), for `engram show` and for exact restores.
 */
import * as tf from '@tensorflow/tfjs';
import { EngramError, isEngramError } from '../../errors/index.ts';
import { Repository, type Snapshot, type TensorInput } from '../../repo/index.ts';
import type { JsonValue } from '../../tensor/index.ts';
import { byteLengthOf } from '../../tensor/index.ts';
import { checkArtifactsRestorable } from './check-restorable.ts';
import type { EngramIOOptions } from './engram-io-options.ts';
import { parseEngramUrl } from './engram-url.ts';
import { parseOptimizerInternals, type OptimizerInternals } from './optimizer-internals.ts';
import { engramDType, tfjsDType } from './tfjs-dtype.ts';

/** The blob holding the artifacts' JSON parts and the weight order. */
export const TFJS_MODEL_BLOB = 'tfjs/model.json';
const DOC_FORMAT = 'engram.tfjs-artifacts';
const DOC_VERSION = 1;

/** The JSON parts of ModelArtifacts that are kept as they are. */
const JSON_FIELDS = ['modelTopology', 'format', 'generatedBy', 'convertedBy', 'trainingConfig', 'userDefinedMetadata', 'signature', 'modelInitializer', 'initializerSignature'] as const;

/** A weight spec as stored in `tfjs/model.json`: TF.js's spec plus the tensor holding its bytes. */
type StoredWeight = tf.io.WeightsManifestEntry & { readonly tensor: string };

/**
 * A `tf.io.IOHandler` backed by an engram repository. Use it directly
 * (`model.save(engramIO({ repo, run: 'mnist', step: 100 }), { includeOptimizer: true })`), through
 * `engram://` URLs after {@link registerEngramRouters}, or through {@link saveModel} and
 * {@link loadModel}. A save refuses, before writing anything, artifacts that TF.js could not restore
 * (check-restorable.ts).
 */
export class EngramIOHandler implements tf.io.IOHandler {
  /** Where this handler saves to and loads from. */
  readonly options: EngramIOOptions;
  /** The snapshot the last save committed or the last load read. */
  snapshot: Snapshot | undefined;
  /** Adam's exact running products as the last load found them (null: not stored). */
  loadedInternals: OptimizerInternals | null = null;
  readonly #saveInternals: OptimizerInternals | null;

  /**
   * @param target an `engram://` URL or options.
   * @param saveInternals @internal exact optimizer internals of the model being saved (saveModel).
   */
  constructor(target: string | EngramIOOptions, saveInternals: OptimizerInternals | null = null) {
    this.options = typeof target === 'string' ? parseEngramUrl(target) : target;
    this.#saveInternals = saveInternals;
  }

  /** Saves `artifacts` as a new snapshot; called by `model.save()`. */
  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    const o = this.options;
    if (o.run === undefined) throw new EngramError('InvalidArgument', 'saving a TF.js model needs a run (engram://…?run=<run>)');
    if (o.ref !== undefined) {
      throw new EngramError('InvalidArgument', `ref=${o.ref} names an existing snapshot; to save, give run (and step)`, { ref: o.ref });
    }
    if (o.meta && Object.hasOwn(o.meta, 'tfjs')) throw new EngramError('InvalidArgument', 'meta key tfjs is reserved for engram/tfjs');
    // Everything is checked and laid out before the repository is even opened, so a refused save
    // leaves no trace (not even a repository that create=true would have made).
    checkArtifactsRestorable(artifacts, { requireOptimizer: o.requireOptimizer ?? true });
    const { tensors, weights } = splitWeights(artifacts);
    const json: Record<string, unknown> = {};
    for (const f of JSON_FIELDS) if (artifacts[f] !== undefined) json[f] = artifacts[f];
    const blob = jsonBytes({ format: DOC_FORMAT, version: DOC_VERSION, artifacts: json, weights });
    const iterations = iterationsOf(artifacts, tensors);
    const optimizerConfig = artifacts.trainingConfig?.optimizer_config as { class_name?: unknown } | undefined;
    const tfjsMeta: Record<string, JsonValue> = {
      format: artifacts.format ?? null,
      generatedBy: artifacts.generatedBy ?? null,
      optimizer: typeof optimizerConfig?.class_name === 'string' ? optimizerConfig.class_name : null,
      iterations,
      ...(this.#saveInternals ? { optimizerInternals: this.#saveInternals } : {}),
    };
    this.snapshot = await withRepository(o, true, (repo) => repo.save({
      run: o.run!,
      ...(o.step !== undefined ? { step: o.step } : {}),
      ...(o.parent !== undefined ? { parent: o.parent } : {}),
      ...(o.message !== undefined ? { message: o.message } : {}),
      ...(o.metrics ? { metrics: o.metrics } : {}),
      ...(o.tags ? { tags: o.tags } : {}),
      meta: { ...o.meta, tfjs: tfjsMeta },
      tensors,
      blobs: { [TFJS_MODEL_BLOB]: blob },
    }));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }

  /** Loads the snapshot the options name as ModelArtifacts; called by `tf.loadLayersModel()`. */
  async load(): Promise<tf.io.ModelArtifacts> {
    const o = this.options;
    const ref = o.ref ?? (o.run === undefined ? undefined : o.step === undefined ? `${o.run}@latest` : `${o.run}@${o.step}`);
    if (ref === undefined) throw new EngramError('InvalidArgument', 'loading a TF.js model needs ref=<ref> or run=<run>[&step=<n>]');
    return withRepository(o, false, async (repo) => {
      const snap = await repo.snapshot(ref);
      if (!snap.blobNames().includes(TFJS_MODEL_BLOB)) {
        throw new EngramError('NotFound', `snapshot ${snap.id} (${snap.run}@${snap.step}) was not saved by engram/tfjs: it has no ${TFJS_MODEL_BLOB}`, {
          snapshot: snap.id, blob: TFJS_MODEL_BLOB,
        });
      }
      const doc = parseDoc(await snap.blob(TFJS_MODEL_BLOB), snap.id);
      let total = 0;
      const sizes = doc.weights.map((w) => {
        const n = byteLengthOf(engramDType(w.dtype, w.name), w.shape);
        total += n;
        return n;
      });
      // Each tensor is read straight into its place in the one buffer TF.js wants.
      const weightData = new Uint8Array(total);
      let offset = 0;
      for (const [i, w] of doc.weights.entries()) {
        const info = snap.tensorInfo(w.tensor);
        if (tfjsDType(info.dtype, w.tensor) !== w.dtype || info.shape.join(',') !== w.shape.join(',')) {
          throw new EngramError('IntegrityMismatch', `snapshot ${snap.id}: tensor ${w.tensor} is ${info.dtype}[${info.shape.join(', ')}], its spec says ${w.dtype}[${w.shape.join(', ')}]`, {
            snapshot: snap.id, tensor: w.tensor,
          });
        }
        await snap.tensor(w.tensor, { into: weightData.subarray(offset, offset + sizes[i]!) });
        offset += sizes[i]!;
      }
      const tfjsMeta = snap.meta['tfjs'] as Record<string, unknown> | undefined;
      this.loadedInternals = parseOptimizerInternals(tfjsMeta?.['optimizerInternals'], `snapshot ${snap.id} meta tfjs`);
      this.snapshot = snap;
      const artifacts: tf.io.ModelArtifacts = {};
      for (const f of JSON_FIELDS) if (doc.artifacts[f] !== undefined) (artifacts as Record<string, unknown>)[f] = doc.artifacts[f];
      artifacts.weightSpecs = doc.weights.map(({ tensor: _tensor, ...spec }) => spec);
      artifacts.weightData = weightData.buffer;
      return artifacts;
    });
  }
}

/**
 * A handler for an `engram://` URL or options.
 *
 * @example
 * await model.save(engramIO({ repo, run: 'mnist', step: 100 }), { includeOptimizer: true });
 * const again = await tf.loadLayersModel(engramIO({ repo, ref: 'mnist@100' }));
 */
export function engramIO(target: string | EngramIOOptions): EngramIOHandler {
  return new EngramIOHandler(target);
}

/** Cuts the concatenated weight bytes into one tensor per spec (views, no copies). */
function splitWeights(artifacts: tf.io.ModelArtifacts): { tensors: Record<string, TensorInput>; weights: StoredWeight[] } {
  const specs = artifacts.weightSpecs ?? [];
  if (artifacts.weightData === undefined && specs.length > 0) {
    throw new EngramError('InvalidArgument', 'the model artifacts have weight specs but no weight data');
  }
  const data = artifacts.weightData === undefined ? new Uint8Array(0)
    : new Uint8Array(Array.isArray(artifacts.weightData) ? tf.io.CompositeArrayBuffer.join(artifacts.weightData) : artifacts.weightData);
  const tensors: Record<string, TensorInput> = {};
  const weights: StoredWeight[] = [];
  let offset = 0;
  for (const spec of specs) {
    if (spec.quantization) {
      throw new EngramError('Unsupported', `weight ${spec.name} is quantized (${spec.quantization.dtype}); engram/tfjs stores unquantized weights`, { weight: spec.name });
    }
    const group = spec.group ?? 'model';
    if (group !== 'model' && group !== 'optimizer') {
      throw new EngramError('Unsupported', `weight ${spec.name} is in group ${String(group)}; engram/tfjs knows the model and optimizer groups`, { weight: spec.name });
    }
    const tensor = `${group}/${spec.name}`;
    if (Object.hasOwn(tensors, tensor)) {
      throw new EngramError('InvalidArgument', `two ${group} weights are named ${spec.name}; TF.js could not tell them apart on load either`, { weight: spec.name });
    }
    const dtype = engramDType(spec.dtype, spec.name);
    const n = byteLengthOf(dtype, spec.shape);
    if (offset + n > data.byteLength) {
      throw new EngramError('InvalidArgument', `the weight specs need more than the ${data.byteLength} bytes of weight data (at ${spec.name})`, { weight: spec.name });
    }
    tensors[tensor] = { dtype, shape: [...spec.shape], data: data.subarray(offset, offset + n) };
    weights.push({ ...spec, tensor });
    offset += n;
  }
  if (offset !== data.byteLength) {
    throw new EngramError('InvalidArgument', `the weight specs describe ${offset} bytes but the weight data has ${data.byteLength}`);
  }
  return { tensors, weights };
}

/** The optimizer's iteration count: the int32 scalar TF.js names `iter` in the optimizer group. */
function iterationsOf(artifacts: tf.io.ModelArtifacts, tensors: Record<string, TensorInput>): number | null {
  const spec = artifacts.weightSpecs?.find((s) => s.group === 'optimizer' && s.name === 'iter' && s.dtype === 'int32' && s.shape.length === 0);
  const data = spec ? tensors['optimizer/iter']?.data : undefined;
  return data ? new DataView(data.buffer, data.byteOffset, 4).getInt32(0, true) : null;
}

/** JSON bytes; a non-finite number, which JSON would turn into null, is refused instead. */
function jsonBytes(value: unknown): Uint8Array {
  const text = JSON.stringify(value, (key, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw new EngramError('InvalidArgument', `model artifacts hold ${v} at key ${JSON.stringify(key)}, which JSON cannot represent`, { key });
    }
    return v;
  });
  return new TextEncoder().encode(text);
}

function parseDoc(bytes: Uint8Array, snapshot: string): { artifacts: Record<string, unknown>; weights: StoredWeight[] } {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch (e) {
    throw new EngramError('IntegrityMismatch', `snapshot ${snapshot}: ${TFJS_MODEL_BLOB} is not JSON`, { snapshot }, { cause: e });
  }
  if (json === null || typeof json !== 'object' || json['format'] !== DOC_FORMAT) {
    throw new EngramError('IntegrityMismatch', `snapshot ${snapshot}: ${TFJS_MODEL_BLOB} is not an engram/tfjs document`, { snapshot });
  }
  if (json['version'] !== DOC_VERSION) {
    throw new EngramError('Unsupported', `snapshot ${snapshot}: ${TFJS_MODEL_BLOB} has version ${String(json['version'])}; this engram reads version ${DOC_VERSION}`, { snapshot });
  }
  const weights = json['weights'];
  const ok = Array.isArray(weights) && weights.every((w: Partial<StoredWeight> | null) =>
    w !== null && typeof w === 'object' && typeof w.name === 'string' && typeof w.tensor === 'string' && typeof w.dtype === 'string' &&
    Array.isArray(w.shape) && w.shape.every((d) => Number.isSafeInteger(d) && d >= 0));
  const artifacts = json['artifacts'];
  if (!ok || artifacts === null || typeof artifacts !== 'object' || Array.isArray(artifacts)) {
    throw new EngramError('IntegrityMismatch', `snapshot ${snapshot}: ${TFJS_MODEL_BLOB} is malformed`, { snapshot });
  }
  return { artifacts: artifacts as Record<string, unknown>, weights: weights as StoredWeight[] };
}

/** Runs `fn` on the options' repository, opening (and maybe creating) and closing it when given a location. */
async function withRepository<T>(o: EngramIOOptions, forSave: boolean, fn: (repo: Repository) => Promise<T>): Promise<T> {
  if (typeof o.repo !== 'string') return fn(o.repo);
  const repo = await openRepository(o.repo, forSave && o.create === true);
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

async function openRepository(location: string, create: boolean): Promise<Repository> {
  try {
    return await Repository.open(location);
  } catch (e) {
    if (!create || !isEngramError(e, 'NotFound')) throw e;
  }
  try {
    return await Repository.init(location);
  } catch (e) {
    // Another process created it between our open and init.
    if (isEngramError(e, 'Conflict')) return Repository.open(location);
    throw e;
  }
}
