/**
 * @module readAheadTensors: a file's lazy tensors, each `load()` starting the next one's read. The
 * save loads a file's tensors one after another and hands each to the codec workers, which keep
 * only a few chunks queued: while the next tensor's bytes came off the file, they ran dry. With the
 * next read already under way they find work when they finish the current tensor.
 */
import type { IngestedTensor } from '../formats/index.ts';

/** The next tensor is read ahead only up to this size, so a save holds at most one extra tensor this large. */
export const TENSOR_READ_AHEAD_BYTES = 256 << 20;

/**
 * `tensors` whose `load()` of tensor i also starts tensor i+1's (when it is at most `maxBytes`);
 * that one's `load()` then takes the read under way. Errors reach the `load()` that asks.
 *
 * @example const tensors = readAheadTensors(ingested.tensors);
 */
export function readAheadTensors<T extends IngestedTensor>(tensors: readonly T[], maxBytes = TENSOR_READ_AHEAD_BYTES): T[] {
  const ahead = new Map<number, Promise<Uint8Array>>();
  const start = (i: number): void => {
    const t = tensors[i];
    if (!t || ahead.has(i) || t.byteLength > maxBytes) return;
    const p = t.load();
    // Taken, and its failure rethrown, by the load() that asks for it.
    p.catch(() => {});
    ahead.set(i, p);
  };
  return tensors.map((t, i) => ({
    ...t,
    load: () => {
      const early = ahead.get(i);
      ahead.delete(i);
      const p = early ?? t.load();
      start(i + 1);
      return p;
    },
  }));
}
