/**
 * @module sha256Baseline: SHA-256 of the same bytes in 4 MiB pieces on one thread (node:crypto,
 * OpenSSL, SHA-NI where the CPU has it) — the floor of engram's CPU per GiB, since every save
 * hashes each new chunk and every restore re-hashes each chunk it decodes — through the same
 * function engram calls. The best of three passes.
 */
import { sha256Hex } from '../../src/codec/index.ts';

const PIECE = 4 * 1024 * 1024;

/** Throughput (bytes/s) and CPU-s per GiB of hashing `data` in chunk-sized pieces. */
export function sha256Baseline(data: Uint8Array): { bytesPerSecond: number; cpuSecondsPerGiB: number } {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let at = 0; at < data.byteLength; at += PIECE) sha256Hex(data.subarray(at, at + PIECE));
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  // One thread, busy throughout: its wall time is its CPU time.
  return { bytesPerSecond: data.byteLength / best, cpuSecondsPerGiB: best / (data.byteLength / 1024 ** 3) };
}
