/**
 * @module scratchBuffer: one large buffer reused by every baseline and restore of a run. Memory
 * touched for the first time costs ~0.8 GB/s on this machine, so allocating a fresh gibibyte per
 * measurement would time the page faults instead of the work.
 */
let buffer = new Uint8Array(0);

/** A buffer of at least `bytes` (its contents are undefined; callers overwrite what they use). */
export function scratchBuffer(bytes: number): Uint8Array {
  if (buffer.byteLength < bytes) {
    buffer = new Uint8Array(0);
    buffer = new Uint8Array(bytes);
    buffer.fill(1);
  }
  return buffer.subarray(0, bytes);
}
