/** @module Which tensors of a snapshot came from no file (saved through the library). */
import type { Snapshot } from '../repo/index.ts';

/**
 * The names of `snap`'s tensors that no saved file holds, in snapshot order: a file's tensors are
 * those its segments refer to and those named `<path>` or `<path>:…` (a withheld or
 * compressed-file tensor has no segment). A restore writes the rest to `tensors.safetensors`.
 */
export function looseTensorNames(snap: Snapshot): string[] {
  const inFiles = new Set(snap.files.flatMap((f) => f.segments.flatMap((s) => (s.kind === 'tensor' ? [s.tensor] : []))));
  for (const f of snap.files) for (const n of snap.tensorNames()) if (n === f.path || n.startsWith(`${f.path}:`)) inFiles.add(n);
  return snap.tensorNames().filter((n) => !inFiles.has(n));
}
