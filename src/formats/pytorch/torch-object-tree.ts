/**
 * @module Flattens an unpickled checkpoint into named tensors and JSON metadata: tensors are named
 * by the dotted path of the dicts and lists that hold them (`model.conv1.weight`,
 * `optimizer.state.0.exp_avg`, '' for a bare tensor), everything else becomes JSON with markers
 * for what JSON lacks. The walk is depth- and size-capped, so cycles and shared-subtree blowups
 * built through the memo end in a FormatError.
 */
import { formatError } from '../../errors/index.ts';
import { PyDict, PyGlobal, PyOpaque, PyTuple, type PyValue } from '../pickle/index.ts';
import type { TorchStorage, TorchTensorView } from './torch-pickle-hooks.ts';

/** JSON as the metadata holds it. */
export type TorchJson = null | boolean | number | string | TorchJson[] | { [key: string]: TorchJson };

/** A tensor found in the tree, with its dotted name. */
export interface NamedTorchTensor {
  readonly name: string;
  readonly view: TorchTensorView;
}

/** Deepest nesting of dicts and lists walked. */
export const MAX_TREE_DEPTH = 1000;
/** Most nodes walked (shared subtrees count each time they are reached). */
export const MAX_TREE_NODES = 1_000_000;

function keyText(k: PyValue): string {
  if (typeof k === 'string') return k;
  if (k === null) return 'None';
  if (typeof k === 'boolean') return k ? 'True' : 'False';
  if (typeof k === 'number' || typeof k === 'bigint') return String(k);
  if (k instanceof PyTuple) return `(${k.items.map(keyText).join(', ')})`;
  return '?';
}

/**
 * Walks `root`. Bytes become `{"$bytes": base64}`, integers beyond 2^53 `{"$int": "…"}`,
 * non-finite floats `{"$float": "nan"|"inf"|"-inf"}`, tensors `{"$tensor": name}`, globals
 * (dtypes) `{"$global": "torch.float32"}`; tuples become arrays.
 */
export function flattenTorchObject(file: string, root: PyValue): { tensors: NamedTorchTensor[]; json: TorchJson } {
  const tensors: NamedTorchTensor[] = [];
  let nodes = 0;
  const walk = (v: PyValue, path: string, depth: number): TorchJson => {
    if (++nodes > MAX_TREE_NODES) throw formatError(file, 0, `checkpoint object has more than ${MAX_TREE_NODES} nodes (or shares one subtree too often)`);
    if (depth > MAX_TREE_DEPTH) throw formatError(file, 0, `checkpoint object nests deeper than ${MAX_TREE_DEPTH} (or refers to itself)`);
    const child = (key: string): string => (path === '' ? key : `${path}.${key}`);
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
    if (typeof v === 'number') {
      if (Number.isFinite(v)) return v;
      return { $float: Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf' };
    }
    if (typeof v === 'bigint') return { $int: v.toString() };
    if (v instanceof Uint8Array) return { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
    if (Array.isArray(v)) return v.map((x, i) => walk(x, child(String(i)), depth + 1));
    if (v instanceof PyTuple) return v.items.map((x, i) => walk(x, child(String(i)), depth + 1));
    if (v instanceof PyDict) {
      const out: { [key: string]: TorchJson } = {};
      for (const [k, x] of v.entries) {
        const key = keyText(k);
        out[key] = walk(x, child(key), depth + 1);
      }
      return out;
    }
    if (v instanceof PyGlobal) return { $global: v.qualified };
    if (v instanceof PyOpaque && v.kind === 'tensor') {
      tensors.push({ name: path, view: v.value as TorchTensorView });
      return { $tensor: path };
    }
    if (v instanceof PyOpaque && v.kind === 'storage') {
      // A storage saved on its own reads as the 1-D tensor of its elements.
      const storage = v.value as TorchStorage;
      tensors.push({ name: path, view: { storage, storageOffset: 0, shape: [storage.numel], stride: [1] } });
      return { $tensor: path };
    }
    throw formatError(file, 0, 'checkpoint holds an object engram cannot represent');
  };
  const json = walk(root, '', 0);
  return { tensors, json };
}
