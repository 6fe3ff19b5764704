/** @module Extract: one tensor of a snapshot as its own file, reading only its chunks (`engram get`). */
import { writeNpy, writeSafetensors } from '../formats/index.ts';
import { writeFileAtomic, type Snapshot } from '../repo/index.ts';
import type { DType } from '../tensor/index.ts';

/** What `extractTensor` wrote. */
export interface ExtractResult {
  /** The tensor's full name in the snapshot. */
  readonly tensor: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** The tensor's own bytes. */
  readonly byteLength: number;
  /** Bytes of the file written. */
  readonly bytes: number;
}

/**
 * Writes tensor `name` of `snap` (its full name or a unique last part of it, see
 * `Snapshot.resolveTensorName`) to `output`, atomically, as `.npy` or as a one-tensor safetensors
 * file keyed by the name after its `path:`.
 *
 * @example await extractTensor(snap, 'conv.weight', 'w.npy', 'npy');
 */
export async function extractTensor(snap: Snapshot, name: string, output: string, format: 'npy' | 'safetensors'): Promise<ExtractResult> {
  const full = snap.resolveTensorName(name);
  const t = await snap.tensor(full);
  const bytes = format === 'npy' ? writeNpy({ dtype: t.dtype, shape: t.shape, data: t.data }) : writeSafetensors([{ name: full.slice(full.lastIndexOf(':') + 1), dtype: t.dtype, shape: t.shape, data: t.data }]);
  await writeFileAtomic(output, [bytes]);
  return { tensor: full, dtype: t.dtype, shape: t.shape, byteLength: t.byteLength, bytes: bytes.byteLength };
}
