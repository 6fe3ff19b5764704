/**
 * @module The order of an HDF5 file's datasets as tensors: Keras's own order where the file gives
 * one (`layer_names` on a group orders its layer groups; `weight_names` lists a group's weights
 * relative to it, as Keras saves and loads them), then every other dataset in HDF5 link order.
 */
import type { Hdf5Attr, Hdf5GroupInfo, Hdf5Tree } from './h5wasm-protocol.ts';

function stringList(attrs: readonly Hdf5Attr[], name: string): string[] {
  const v = attrs.find((a) => a.name === name)?.value;
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * The dataset paths of `tree` in tensor order. Every dataset appears once.
 *
 * @example orderDatasets(tree) // ['conv2d/conv2d/kernel:0', 'conv2d/conv2d/bias:0', …]
 */
export function orderDatasets(tree: Hdf5Tree): string[] {
  const groups = new Map<string, Hdf5GroupInfo>(tree.groups.map((g) => [g.path, g]));
  const datasets = new Set(tree.datasets.map((d) => d.path));
  const out: string[] = [];
  const seen = new Set<string>();
  const visited = new Set<string>();
  const join = (a: string, b: string): string => (a === '' ? b : `${a}/${b}`);
  const emit = (p: string): void => {
    if (datasets.has(p) && !seen.has(p)) {
      seen.add(p);
      out.push(p);
    }
  };
  const visit = (path: string): void => {
    const g = groups.get(path);
    if (!g || visited.has(path)) return;
    visited.add(path);
    for (const w of stringList(g.attrs, 'weight_names')) emit(join(path, w));
    const layers = stringList(g.attrs, 'layer_names').filter((l) => g.children.includes(l));
    const rest = g.children.filter((c) => !layers.includes(c));
    for (const child of [...layers, ...rest]) {
      const p = join(path, child);
      emit(p);
      visit(p);
    }
  };
  visit('');
  // Anything the walk did not reach (it reaches everything the worker listed; kept for safety).
  for (const d of tree.datasets) emit(d.path);
  return out;
}
