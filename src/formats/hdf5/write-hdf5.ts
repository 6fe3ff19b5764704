/**
 * @module Writes tensors as an HDF5 file through h5wasm: a Keras-compatible weights file when the
 * names are `layer/weight` paths (the layout `model.save_weights('x.h5')` writes and
 * `model.load_weights` reads), a full-model layout for `model_weights/…` and `optimizer_weights/…`
 * names, and otherwise plain datasets by path.
 */
import { EngramError } from '../../errors/index.ts';
import type { NamedTensor } from '../../tensor/index.ts';
import { h5wasmWrite } from './h5wasm-host.ts';
import type { Hdf5Attr, Hdf5WriteDataset, Hdf5WriteRequest } from './h5wasm-protocol.ts';
import { ENGRAM_DTYPE_ATTR, hdf5WriteDtype } from './hdf5-dtype.ts';

/** @deprecated use NamedTensor (tensor/); its name is an HDF5 path, '/'-separated. */
export type Hdf5TensorInput = NamedTensor;

/** Options of {@link writeHdf5}. */
export interface WriteHdf5Options {
  /** Milliseconds the writer may take; default 10 s plus 1 s per 5 MB of tensors. */
  readonly timeoutMs?: number;
}

// The groups under which a Keras 2 full-model file keeps its weights.
const MODEL_WEIGHTS = 'model_weights';
const OPTIMIZER_WEIGHTS = 'optimizer_weights';
// Attributes engram computes from the tensor names; values passed in metadata are ignored for them.
const COMPUTED = new Set(['layer_names', 'weight_names']);

function checkName(name: string, taken: Set<string>, prefixes: Set<string>): void {
  const parts = name.split('/');
  if (name === '' || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new EngramError('Unsupported', `h5 cannot hold tensor ${JSON.stringify(name)}: HDF5 paths need non-empty '/'-separated names; write .safetensors instead`, {
      format: 'h5', tensor: name, suggest: 'safetensors',
    });
  }
  const parents = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
  if (taken.has(name) || prefixes.has(name) || parents.some((p) => taken.has(p))) {
    throw new EngramError('Unsupported', `h5 cannot hold tensor ${JSON.stringify(name)}: the same path is also a group or another tensor; write .safetensors instead`, {
      format: 'h5', tensor: name, suggest: 'safetensors',
    });
  }
  taken.add(name);
  for (const p of parents) prefixes.add(p);
}

/** The Keras attributes of the groups: layer_names on a container, weight_names (relative) on each layer. */
function kerasAttrs(names: readonly string[]): Map<string, Hdf5Attr[]> {
  const attrs = new Map<string, Hdf5Attr[]>();
  const add = (group: string, a: Hdf5Attr): void => void attrs.set(group, [...(attrs.get(group) ?? []), a]);
  const layersOf = (container: string, under: readonly string[]): void => {
    const layers: string[] = [];
    const weights = new Map<string, string[]>();
    for (const rest of under) {
      const slash = rest.indexOf('/');
      if (slash < 0) continue;
      const layer = rest.slice(0, slash);
      if (!weights.has(layer)) {
        layers.push(layer);
        weights.set(layer, []);
      }
      weights.get(layer)!.push(rest.slice(slash + 1));
    }
    if (layers.length === 0) return;
    add(container, { name: 'layer_names', value: layers });
    for (const l of layers) add(container === '' ? l : `${container}/${l}`, { name: 'weight_names', value: weights.get(l)! });
  };
  const full = names.every((n) => n.startsWith(`${MODEL_WEIGHTS}/`) || n.startsWith(`${OPTIMIZER_WEIGHTS}/`));
  if (full) {
    const strip = (prefix: string): string[] => names.filter((n) => n.startsWith(`${prefix}/`)).map((n) => n.slice(prefix.length + 1));
    layersOf(MODEL_WEIGHTS, strip(MODEL_WEIGHTS));
    const optimizer = strip(OPTIMIZER_WEIGHTS);
    if (optimizer.length > 0) add(OPTIMIZER_WEIGHTS, { name: 'weight_names', value: optimizer });
  } else {
    layersOf('', names);
  }
  return attrs;
}

/**
 * The bytes of an HDF5 file holding `tensors`. Names with a '/' become Keras weights: each first
 * path segment is a layer group listed in the root's `layer_names`, and each layer's
 * `weight_names` lists its datasets (the rest of the name, e.g. `dense/kernel:0`) in the order
 * given — what `model.load_weights('x.h5')` expects. Names all under `model_weights/` or
 * `optimizer_weights/` get the full-model layout (`model.save('x.h5')`): `layer_names` on
 * model_weights, `weight_names` on optimizer_weights. Other names are datasets at their path.
 *
 * `metadata` becomes string attributes: plain keys on the root (`model_config`, `training_config`,
 * `keras_version`, `backend`, as `readHdf5` reports them), `group@name` keys on that group when it
 * exists. Keras files get `backend` and `keras_version` when metadata does not give them, since
 * Keras treats a weights file without `keras_version` as Keras 1 and converts its kernels.
 *
 * BOOL is stored as u8 tagged with an `engram_dtype` attribute (h5py's bool enum cannot be made by
 * h5wasm); HDF5 has no BF16 or FP8 type and h5wasm writes no float16, so those are `Unsupported`
 * (write safetensors instead). F16 datasets are read, only not written.
 *
 * @example const bytes = await writeHdf5([{ name: 'dense/dense/kernel:0', dtype: 'F32', shape: [4, 2], data }]);
 */
export async function writeHdf5(tensors: readonly NamedTensor[], metadata?: Readonly<Record<string, string>>, options: WriteHdf5Options = {}): Promise<Uint8Array> {
  const taken = new Set<string>();
  const prefixes = new Set<string>();
  const datasets: Hdf5WriteDataset[] = [];
  let total = 0;
  for (const t of tensors) {
    const dtype = hdf5WriteDtype(t.dtype);
    if (!dtype) {
      throw new EngramError('Unsupported', `h5 cannot hold tensor ${JSON.stringify(t.name)} of dtype ${t.dtype}; write .safetensors instead`, {
        format: 'h5', tensor: t.name, dtype: t.dtype, suggest: 'safetensors',
      });
    }
    checkName(t.name, taken, prefixes);
    total += t.data.byteLength;
    datasets.push({
      path: t.name, dtype, shape: t.shape, data: t.data,
      ...(t.dtype === 'BOOL' ? { attrs: [{ name: ENGRAM_DTYPE_ATTR, value: 'BOOL' }] } : {}),
    });
  }
  const keras = kerasAttrs(tensors.map((t) => t.name));
  const groupPaths = ['', ...[...prefixes].sort((a, b) => a.split('/').length - b.split('/').length)];
  const attrsOf = new Map<string, Hdf5Attr[]>(groupPaths.map((p) => [p, [...(keras.get(p) ?? [])]]));
  for (const [key, value] of Object.entries(metadata ?? {})) {
    const at = key.lastIndexOf('@');
    const group = at < 0 ? '' : key.slice(0, at);
    const name = at < 0 ? key : key.slice(at + 1);
    const list = attrsOf.get(group);
    if (!list || name === '' || COMPUTED.has(name) || list.some((a) => a.name === name)) continue;
    list.push({ name, value });
  }
  const isKeras = (keras.get('') ?? keras.get(MODEL_WEIGHTS)) !== undefined;
  if (isKeras) {
    const root = attrsOf.get('')!;
    if (!root.some((a) => a.name === 'backend')) root.push({ name: 'backend', value: 'tensorflow' });
    if (!root.some((a) => a.name === 'keras_version')) root.push({ name: 'keras_version', value: '2' });
  }
  const request: Hdf5WriteRequest = { groups: groupPaths.map((path) => ({ path, attrs: attrsOf.get(path)! })), datasets };
  try {
    return await h5wasmWrite(request, options.timeoutMs ?? 60_000 + Math.ceil(total / 1000));
  } catch (e) {
    throw new EngramError('IOError', `h5wasm could not write the HDF5 file: ${(e as Error).message}`, { format: 'h5' }, { cause: e });
  }
}
