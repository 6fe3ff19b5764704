/**
 * @module Turns torch tensors (strided views of storages) into IngestedTensors and the file's
 * tensor ranges. A storage is one contiguous range of the file; when a tensor covers its storage
 * exactly (contiguous, offset 0, same element count — every ordinary state dict), that tensor's
 * canonical bytes *are* the storage bytes, so the range is that tensor's segment and it
 * deduplicates with the same tensor from safetensors or .npy. Any other storage (shared by
 * partial views, or only viewed with strides) becomes a tensor of its own, `storage:<key>`, that
 * holds the range; the views are still exposed as logical C-order tensors, gathered on load.
 */
import { formatError } from '../../errors/index.ts';
import { dtypeSize } from '../../tensor/index.ts';
import type { ByteSource } from '../byte-source.ts';
import { checkLoadable, fileTensor } from '../file-tensor.ts';
import type { TensorRange } from '../file-layout.ts';
import type { IngestedTensor } from '../ingested-file.ts';
import type { NamedTorchTensor } from './torch-object-tree.ts';
import type { TorchStorage, TorchTensorView } from './torch-pickle-hooks.ts';

/** Where a storage's bytes are in the file. */
export interface StoragePlacement {
  readonly storage: TorchStorage;
  /** File offset of the first byte. */
  readonly offset: number;
  readonly byteLength: number;
}

const elementCount = (shape: readonly number[]): number => shape.reduce((n, d) => n * d, 1);

/** True when the view is the whole storage in C order. */
function coversStorage(v: TorchTensorView): boolean {
  if (v.storageOffset !== 0 || elementCount(v.shape) !== v.storage.numel) return false;
  let expect = 1;
  for (let i = v.shape.length - 1; i >= 0; i--) {
    if (v.shape[i] !== 1 && v.stride[i] !== expect) return false;
    expect *= v.shape[i]!;
  }
  return true;
}

/** Copies a strided view out of its storage's bytes into C order. */
function gather(storage: Uint8Array, v: TorchTensorView, width: number): Uint8Array {
  const n = elementCount(v.shape);
  const out = new Uint8Array(n * width);
  const rank = v.shape.length;
  const index = new Array<number>(rank).fill(0);
  let at = v.storageOffset;
  for (let e = 0; e < n; e++) {
    out.set(storage.subarray(at * width, (at + 1) * width), e * width);
    // Odometer increment over the shape, moving `at` by the strides.
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < v.shape[d]!) {
        at += v.stride[d]!;
        break;
      }
      at -= (v.shape[d]! - 1) * v.stride[d]!;
      index[d] = 0;
    }
  }
  return out;
}

/**
 * Builds the tensors and ranges of a torch file. Every named tensor's storage must be in
 * `placements` (keyed by storage key). Tensor names must be unique.
 */
export function torchFileTensors(
  src: ByteSource, named: readonly NamedTorchTensor[], placements: ReadonlyMap<string, StoragePlacement>,
): { tensors: IngestedTensor[]; ranges: TensorRange[] } {
  const tensors: IngestedTensor[] = [];
  const ranges: TensorRange[] = [];
  const names = new Set<string>();
  const claim = (name: string): void => {
    if (names.has(name)) throw formatError(src.name, 0, `unsupported checkpoint: two tensors are both named ${JSON.stringify(name)}`);
    names.add(name);
  };
  const owned = new Set<string>();
  const views: NamedTorchTensor[] = [];
  for (const t of named) {
    const place = placements.get(t.view.storage.key);
    if (!place) throw formatError(src.name, 0, `tensor ${JSON.stringify(t.name)} refers to storage ${t.view.storage.key}, which the file does not hold`);
    claim(t.name);
    const { dtype } = place.storage;
    if (!owned.has(place.storage.key) && coversStorage(t.view)) {
      owned.add(place.storage.key);
      tensors.push(fileTensor(src, { name: t.name, dtype, shape: t.view.shape, byteLength: place.byteLength, offset: place.offset }));
      ranges.push({ start: place.offset, length: place.byteLength, tensor: t.name });
    } else {
      views.push(t);
    }
  }
  const viewed = new Map<string, StoragePlacement>();
  for (const t of views) {
    const place = placements.get(t.view.storage.key)!;
    if (!owned.has(place.storage.key)) viewed.set(place.storage.key, place);
    const width = dtypeSize(place.storage.dtype);
    const byteLength = elementCount(t.view.shape) * width;
    tensors.push({
      name: t.name, dtype: place.storage.dtype, shape: t.view.shape, byteLength,
      async load() {
        checkLoadable(t.name, byteLength);
        if (byteLength === 0) return new Uint8Array(0);
        return gather(await src.read(place.offset, place.byteLength), t.view, width);
      },
    });
  }
  for (const [key, place] of viewed) {
    const name = `storage:${key}`;
    claim(name);
    tensors.push(fileTensor(src, { name, dtype: place.storage.dtype, shape: [place.storage.numel], byteLength: place.byteLength, offset: place.offset }));
    ranges.push({ start: place.offset, length: place.byteLength, tensor: name });
  }
  return { tensors, ranges };
}
