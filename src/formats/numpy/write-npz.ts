/** @module Writes tensors as an uncompressed .npz, the way `numpy.savez` does. */
import { EngramError } from '../../errors/index.ts';
import type { NamedTensor } from '../../tensor/index.ts';
import { npyHeader } from './write-npy.ts';
import { storedZipSteps } from '../write-stored-zip.ts';
import { collectSteps, concatPieces, type TensorMeta, type WriteSteps } from '../write-steps.ts';

/**
 * The .npz bytes of `members`, each stored as `<name>.npy` in the given order. Readable by
 * `numpy.load` and {@link readNpz}. Throws `InvalidArgument` for duplicate names and `Unsupported`
 * for dtypes numpy lacks.
 *
 * @example writeNpz([{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(8) }])
 */
export function writeNpz(members: readonly NamedTensor[]): Uint8Array {
  const meta = members.map((m) => ({ name: m.name, dtype: m.dtype, shape: m.shape, byteLength: m.data.byteLength }));
  return concatPieces(collectSteps(npzSteps(meta), members));
}

/**
 * {@link writeNpz} as steps (see write-steps.ts): every member's .npy header from the tensors'
 * descriptions first (so a dtype numpy lacks is refused before anything is written), then each
 * member streamed with its tensor.
 */
export function* npzSteps(members: readonly TensorMeta[]): WriteSteps {
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m.name)) throw new EngramError('InvalidArgument', `duplicate .npz member ${JSON.stringify(m.name)}`, { name: m.name });
    seen.add(m.name);
  }
  const heads = members.map((m) => npyHeader(m));
  yield* storedZipSteps(members.map((m, i) => ({ name: `${m.name}.npy`, head: heads[i]!, tensor: i, tensorBytes: m.byteLength })));
}
