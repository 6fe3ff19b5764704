/**
 * @module Writes a PyTorch checkpoint (the zip format of `torch.save`, PyTorch ≥ 1.6): a state
 * dict of tensors by default, or any checkpoint object (a training checkpoint with `model`,
 * `optimizer`, `epoch`, …) given in the JSON shape engram's reader produces. The archive matches
 * what PyTorch 1.13 writes for the same object, so `torch.load` (also with `weights_only=True`)
 * reads it and a tensor stored here deduplicates with the same tensor in any other format.
 */
import { EngramError } from '../../errors/index.ts';
import type { NamedTensor } from '../../tensor/index.ts';
import { pickleTorchObject, type TorchObject, type TorchTensorData } from './write-pytorch-pickle.ts';
import { torchZipSteps } from './write-pytorch-zip.ts';
import { collectSteps, concatPieces, type TensorMeta, type WriteSteps } from '../write-steps.ts';

/** How `writePytorch` lays out the checkpoint. */
export interface WritePytorchOptions {
  /**
   * The directory every record sits under. `torch.save` uses the file's name without its
   * extension when given a path, and `archive` for a buffer; readers accept any.
   */
  readonly archiveName?: string;
  /**
   * The object to pickle, with `{ $tensor: name }` where each tensor goes (see {@link TorchObject}).
   * Default: an OrderedDict of every tensor by name, in the order given — a `state_dict()`.
   */
  readonly object?: TorchObject;
}

/**
 * A checkpoint object that nests tensors by a separator in their names: `model/fc.weight` and
 * `optimizer/exp_avg/fc.weight` become `{model: {'fc.weight': …}, optimizer: {exp_avg: {…}}}`,
 * every level an OrderedDict in the order names first appear (so `model` is a `state_dict()`).
 * Throws `InvalidArgument` when a name is both a tensor and a prefix of others, or has an empty part.
 *
 * @example writePytorch(tensors, { object: nestedTorchObject(tensors.map((t) => t.name)) })
 */
export function nestedTorchObject(names: readonly string[], separator = '/'): TorchObject {
  type Node = Map<string, Node | string>;
  const root: Node = new Map();
  for (const name of names) {
    const parts = name.split(separator);
    // The tree is built recursively below; real names nest a few levels, so cap it well above that.
    if (parts.length > 256) throw new EngramError('InvalidArgument', `tensor name ${JSON.stringify(name.slice(0, 80))}… nests more than 256 levels`, { tensor: name });
    if (parts.some((p) => p === '')) throw new EngramError('InvalidArgument', `tensor name ${JSON.stringify(name)} has an empty part between ${JSON.stringify(separator)}`, { tensor: name });
    let node = root;
    for (const [i, part] of parts.entries()) {
      const next = node.get(part);
      if (i === parts.length - 1) {
        if (next !== undefined) throw new EngramError('InvalidArgument', `tensor name ${JSON.stringify(name)} is also a prefix of other names, or given twice`, { tensor: name });
        node.set(part, name);
      } else if (typeof next === 'string') {
        throw new EngramError('InvalidArgument', `tensor ${JSON.stringify(next)} is also a prefix of ${JSON.stringify(name)}`, { tensor: next });
      } else {
        const child: Node = next ?? new Map();
        node.set(part, child);
        node = child;
      }
    }
  }
  const build = (node: Node): TorchObject => ({
    $dict: [...node].map(([k, v]) => [k, typeof v === 'string' ? { $tensor: v } : build(v)] as const),
    ordered: true,
  });
  return build(root);
}

/** The `version` record torch 1.13 writes (serialization format 3). */
const VERSION = new TextEncoder().encode('3\n');

/**
 * The pieces of the checkpoint file, in order, without concatenating them (tensor bytes are
 * referenced, not copied), for a caller that streams them to disk.
 */
export function pytorchFilePieces(tensors: readonly NamedTensor[], options: WritePytorchOptions = {}): Uint8Array[] {
  const meta = tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength }));
  return collectSteps(pytorchSteps(meta, options), tensors);
}

/**
 * The checkpoint as steps (see write-steps.ts): the pickle and every check from the tensors'
 * descriptions, then each storage record with its tensor's bytes, asked for one at a time.
 */
export function* pytorchSteps(tensors: readonly TensorMeta[], options: WritePytorchOptions = {}): WriteSteps {
  const archive = options.archiveName ?? 'archive';
  if (archive === '' || archive.includes('/')) {
    throw new EngramError('InvalidArgument', `archive name ${JSON.stringify(archive)} must be non-empty and hold no '/'`, { archive });
  }
  const byName = new Map<string, TorchTensorData>();
  const indexOf = new Map<string, number>();
  for (const [i, t] of tensors.entries()) {
    if (byName.has(t.name)) throw new EngramError('InvalidArgument', `tensor ${JSON.stringify(t.name)} is given twice`, { tensor: t.name });
    byName.set(t.name, t);
    indexOf.set(t.name, i);
  }
  const object: TorchObject = options.object ?? { $dict: tensors.map((t) => [t.name, { $tensor: t.name }] as const), ordered: true };
  const { pickle, storages } = pickleTorchObject(object, byName);
  if (storages.length !== byName.size) {
    const used = new Set(storages.map((s) => s.name));
    const unused = [...byName.keys()].find((n) => !used.has(n))!;
    throw new EngramError('InvalidArgument', `tensor ${JSON.stringify(unused)} is not referred to by the checkpoint object, so it would be lost`, { tensor: unused });
  }
  // torch writes storages in the sorted order of their keys as strings ('0', '1', '10', '2', …).
  const records = [...storages]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((s) => ({ name: `data/${s.key}`, tensor: indexOf.get(s.name)!, size: s.byteLength }));
  yield* torchZipSteps(archive, [{ name: 'data.pkl', data: pickle }, ...records, { name: 'version', data: VERSION }]);
}

/**
 * The bytes of a PyTorch checkpoint holding `tensors`. Throws `InvalidArgument` for a tensor whose
 * bytes do not match its dtype and shape, a duplicate name, or an object that names a missing
 * tensor or leaves one out; `Unsupported` for a dtype torch has no storage for (opaque blocks) or
 * an archive of 4 GiB or more.
 *
 * @example
 * const bytes = writePytorch([{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(8) }]);
 * const ckpt = writePytorch(tensors, { object: { model: { $dict: [['w', { $tensor: 'w' }]], ordered: true }, epoch: 3 } });
 */
export function writePytorch(tensors: readonly NamedTensor[], options: WritePytorchOptions = {}): Uint8Array {
  return concatPieces(pytorchFilePieces(tensors, options));
}
