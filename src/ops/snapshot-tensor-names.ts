/** @module The tensors of a snapshot an export writes: all, or those under a prefix. */
import { EngramError } from '../errors/index.ts';
import type { Snapshot } from '../repo/index.ts';

/** The names of `snap`'s tensors starting with `prefix`; none is `NotFound`. */
export function snapshotTensorNames(snap: Snapshot, prefix: string): string[] {
  const names = snap.tensorNames().filter((n) => n.startsWith(prefix));
  if (names.length === 0) {
    throw new EngramError('NotFound', `snapshot ${snap.id} has no tensor${prefix ? ` starting with ${JSON.stringify(prefix)}` : 's'}`, { snapshot: snap.id, prefix });
  }
  return names;
}
