/**
 * @module Export: a snapshot's tensors (all, or those under a prefix) as one file — or, for TF.js, one
 * directory — of another format, atomically (what `engram export` does).
 */
import { checkWritable, nestedTorchObject, type WritableFormat } from '../formats/index.ts';
import type { Snapshot } from '../repo/index.ts';
import type { LazyNamedTensor } from '../tensor/index.ts';
import type { OnProgress } from './ops-progress.ts';
import { snapshotTensorNames } from './snapshot-tensor-names.ts';
import { writeTensorOutput } from './write-tensor-output.ts';

/**
 * The chunk cache an export's repository should be opened with (`Repository.open`'s
 * `chunkCacheBytes`): tensors are read once each, in order, so a cache of a few chunks serves
 * bundles of small tensors (chunks of up to a quarter of this are cached).
 */
export const EXPORT_CHUNK_CACHE_BYTES = 16 << 20;

/** Options of an export. */
export interface ExportOptions {
  /** The format to write. */
  readonly format: WritableFormat;
  /** Only the tensors whose name starts with this (default: all). */
  readonly only?: string;
  /** Drop `only` from the names written (`model.pt:conv.weight` → `conv.weight`: a usable state dict). */
  readonly strip?: boolean;
  /** pt only: nest names split at `/` into dicts (`model/w` → `{model: {w}}`), a training checkpoint's shape. */
  readonly nest?: boolean;
  /** Told `exporting` events as tensor bytes reach the writer. */
  readonly onProgress?: OnProgress;
}

/** What an export or conversion wrote. */
export interface WriteResult {
  /** The output path. */
  readonly path: string;
  /** The format written. */
  readonly format: WritableFormat | 'onnx';
  /** How many tensors it holds (for ONNX: how many initializers were replaced). */
  readonly tensors: number;
  /** Bytes written (model and external data together for ONNX). */
  readonly bytes: number;
}

/**
 * Writes `snap`'s tensors to `output` as `options.format`. A tensor the format cannot hold is
 * refused from the manifest alone (`Unsupported`), before any chunk is read; no tensor under
 * `only` is `NotFound`. Memory holds one tensor (h5 excepted: it is built whole), not the output.
 *
 * @example
 * const snap = await repo.snapshot('r1@100');
 * await exportSnapshot(snap, 'model.safetensors', { format: 'safetensors', only: 'model/' });
 */
export async function exportSnapshot(snap: Snapshot, output: string, options: ExportOptions): Promise<WriteResult> {
  const { format } = options;
  const prefix = options.only ?? '';
  const names = snapshotTensorNames(snap, prefix);
  // Refuse from the manifest alone, before reading any chunk.
  const refused = checkWritable(format, names.map((name) => ({ name, dtype: snap.tensorInfo(name).dtype })));
  if (refused) throw refused;

  const bytesTotal = names.reduce((s, n) => s + snap.tensorInfo(n).byteLength, 0);
  let bytesDone = 0;
  // Each tensor is loaded when the writer reaches it, into one scratch buffer the size of the
  // largest: the writer has written a tensor before it asks for the next, so the export holds
  // one tensor, never the output, and leaves no garbage of dead tensors for the GC to find.
  let scratch: Uint8Array | undefined;
  const largest = names.reduce((m, n) => Math.max(m, snap.tensorInfo(n).byteLength), 0);
  const tensors: LazyNamedTensor[] = names.map((name) => {
    const info = snap.tensorInfo(name);
    return {
      name: options.strip ? name.slice(prefix.length) : name, dtype: info.dtype, shape: info.shape, byteLength: info.byteLength,
      load: async () => {
        scratch ??= new Uint8Array(largest);
        const t = await snap.tensor(name, { into: scratch.subarray(0, info.byteLength) });
        bytesDone += t.byteLength;
        options.onProgress?.({ phase: 'exporting', bytesDone, bytesTotal });
        return t.data;
      },
    };
  });
  const bytes = await writeTensorOutput(output, format, tensors, options.nest ? { torch: { object: nestedTorchObject(tensors.map((t) => t.name)) } } : {});
  return { path: output, format, tensors: tensors.length, bytes };
}
