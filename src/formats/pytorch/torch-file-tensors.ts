/**
 * @module Turns torch tensors (strided views of storages) into IngestedTensors and the file's
 * tensor ranges. The tensors are exactly the checkpoint's tensors (a state dict's entries, no
 * more): a tensor whose elements are one dense run of its storage — C order (every ordinary
 * state dict; its bytes *are* the file's, so it deduplicates with the same tensor from
 * safetensors or .npy), or Fortran order (a saved `.t()`, held with a Fortran segment encoding)
 * — claims that byte range as its segment, unless an earlier tensor already claimed part of it
 * (tied weights). Every other view (strided, expanded, overlapping) is gathered into C order on
 * load, and storage bytes no tensor claims stay literal bytes of the file.
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

/** True when the view's strides are those of a dense array of its shape, last axis fastest (C) or first (F). */
function isDense(v: TorchTensorView, order: 'C' | 'F'): boolean {
  let expect = 1;
  const rank = v.shape.length;
  for (let k = 0; k < rank; k++) {
    const i = order === 'C' ? rank - 1 - k : k;
    if (v.shape[i] !== 1 && v.stride[i] !== expect) return false;
    expect *= v.shape[i]!;
  }
  return true;
}

/** How a view's elements sit in its storage when they are one dense run of it; undefined otherwise. */
function denseOrder(v: TorchTensorView): 'C' | 'F' | undefined {
  if (elementCount(v.shape) === 0) return undefined;
  if (isDense(v, 'C')) return 'C';
  return isDense(v, 'F') ? 'F' : undefined;
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
  // Byte ranges of each storage already claimed as some tensor's segment: [start, end) in file offsets.
  const claimed = new Map<string, Array<readonly [number, number]>>();
  for (const t of named) {
    const place = placements.get(t.view.storage.key);
    if (!place) throw formatError(src.name, 0, `tensor ${JSON.stringify(t.name)} refers to storage ${t.view.storage.key}, which the file does not hold`);
    if (names.has(t.name)) throw formatError(src.name, 0, `unsupported checkpoint: two tensors are both named ${JSON.stringify(t.name)}`);
    names.add(t.name);
    const { dtype } = place.storage;
    const width = dtypeSize(dtype);
    const byteLength = elementCount(t.view.shape) * width;
    const order = denseOrder(t.view);
    if (order !== undefined) {
      const start = place.offset + t.view.storageOffset * width;
      const end = start + byteLength;
      const taken = claimed.get(place.storage.key) ?? [];
      if (!taken.some(([a, b]) => start < b && a < end)) {
        taken.push([start, end]);
        claimed.set(place.storage.key, taken);
        const encoding = order === 'F' ? { order: 'F' as const } : undefined;
        tensors.push(fileTensor(src, { name: t.name, dtype, shape: t.view.shape, byteLength, offset: start, encoding }));
        ranges.push({ start, length: byteLength, tensor: t.name, encoding });
        continue;
      }
    }
    tensors.push(gatheredTensor(src, t, place, byteLength));
  }
  return { tensors, ranges };
}

/** A view read from the part of its storage it touches and copied into C order on load. */
function gatheredTensor(src: ByteSource, t: NamedTorchTensor, place: StoragePlacement, byteLength: number): IngestedTensor {
  const width = dtypeSize(place.storage.dtype);
  return {
    name: t.name, dtype: place.storage.dtype, shape: t.view.shape, byteLength,
    async load() {
      checkLoadable(t.name, byteLength);
      if (byteLength === 0) return new Uint8Array(0);
      // Strides are non-negative, so the view spans [storageOffset, last]; the hooks checked last < numel.
      const last = t.view.shape.reduce((n, d, i) => n + (d - 1) * t.view.stride[i]!, t.view.storageOffset);
      const from = t.view.storageOffset;
      const span = await src.read(place.offset + from * width, (last - from + 1) * width);
      return gather(span, { ...t.view, storageOffset: 0 }, width);
    },
  };
}
