/**
 * @module memcpyBaseline: copying the same bytes into a buffer that has already been touched — the
 * ceiling for any restore into preallocated memory. The best of three copies is reported.
 */

/** Throughput (bytes/s) of copying `src` into `dst` (at least as large; touched before timing). */
export function memcpyBaseline(src: Uint8Array, dst: Uint8Array): { seconds: number; bytesPerSecond: number } {
  const target = dst.subarray(0, src.byteLength);
  target.fill(1);
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    target.set(src);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return { seconds: best, bytesPerSecond: src.byteLength / best };
}
