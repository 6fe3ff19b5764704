/** @module Writes tensors as an uncompressed .npz, the way `numpy.savez` does. */
import { EngramError } from '../errors/index.ts';
import type { DType } from '../tensor/index.ts';
import { writeNpy } from './write-npy.ts';
import { writeStoredZip } from './write-stored-zip.ts';

/**
 * The .npz bytes of `members`, each stored as `<name>.npy` in the given order. Readable by
 * `numpy.load` and {@link readNpz}. Throws `InvalidArgument` for duplicate names and `Unsupported`
 * for dtypes numpy lacks.
 *
 * @example writeNpz([{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(8) }])
 */
export function writeNpz(
  members: readonly { readonly name: string; readonly dtype: DType; readonly shape: readonly number[]; readonly data: Uint8Array }[],
): Uint8Array {
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m.name)) throw new EngramError('InvalidArgument', `duplicate .npz member ${JSON.stringify(m.name)}`, { name: m.name });
    seen.add(m.name);
  }
  return writeStoredZip(members.map((m) => ({ name: `${m.name}.npy`, data: writeNpy(m) })));
}
