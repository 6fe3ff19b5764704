/**
 * Micro-benchmark of the codec's byte kernels against their TypeScript references, in one process,
 * interleaved (A, B, A, B, ...), reporting medians: each loop on 4 MiB fp32 and bf16 planes, the
 * crossover lengths for KERNEL_MIN_BYTES, and encodeChunk / decodeChunk of a 4 MiB fp32 weights
 * chunk (keyframe and delta) with the kernels and with ENGRAM_KERNELS=js.
 *
 *   node --import tsx bench/codec-kernels.ts [rounds]
 */
import { performance } from 'node:perf_hooks';
import { decodeChunk, encodeChunk, sha256Hex } from '../src/codec/index.ts';
import { groupBytes, groupBytesJs, groupBytesStats, planeRanges, ungroupBytes, ungroupBytesJs } from '../src/codec/byte-group.ts';
import { applyDelta, applyDeltaGrouped, applyDeltaJs, undoDelta, undoDeltaGrouped, undoDeltaJs } from '../src/codec/delta-transform.ts';
import { planeStats } from '../src/codec/plane-stats.ts';
import { align16, loadKernel } from '../src/codec/wasm/index.ts';
import { checkpointF32, highHalves, safetensorsF32 } from '../test/helpers/kernel-chunks.ts';

const rounds = Number(process.argv[2] ?? 15);
const MiB = 1 << 20;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Median MB/s of `a` and `b` over `rounds` interleaved runs, each run repeated `reps` times. */
async function pair(bytes: number, reps: number, a: () => unknown, b: () => unknown): Promise<[number, number]> {
  const ta: number[] = [], tb: number[] = [];
  for (let r = 0; r < rounds + 2; r++) {
    for (const [f, t] of [[a, ta], [b, tb]] as const) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) await f();
      if (r >= 2) t.push((performance.now() - t0) / reps);
    }
  }
  return [bytes / 1e6 / (median(ta) / 1e3), bytes / 1e6 / (median(tb) / 1e3)];
}

function tile(x: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += x.byteLength) out.set(x.subarray(0, Math.min(x.byteLength, n - at)), at);
  return out;
}

const f32 = safetensorsF32().slice(0, 4 * MiB);
const c100 = tile(checkpointF32(100), 4 * MiB), c50 = tile(checkpointF32(50), 4 * MiB);
const bf16 = tile(highHalves(checkpointF32(100)), 4 * MiB), bf16Base = tile(highHalves(checkpointF32(50)), 4 * MiB);
const out = new Uint8Array(4 * MiB), tmp = new Uint8Array(4 * MiB);

console.log(`loop (4 MiB)                      kernel MB/s    TS MB/s   ratio   (median of ${rounds}, interleaved)`);
const row = (name: string, [k, j]: [number, number]): void => console.log(`${name.padEnd(34)}${k.toFixed(0).padStart(10)}${j.toFixed(0).padStart(11)}${(k / j).toFixed(2).padStart(8)}`);
for (const [dt, raw, base, w] of [['fp32', c100, c50, 4], ['bf16', bf16, bf16Base, 2]] as const) {
  row(`${dt} group`, await pair(raw.byteLength, 3, () => groupBytes(raw, w, out), () => groupBytesJs(raw, w, out)));
  const g = groupBytesJs(raw, w);
  row(`${dt} ungroup`, await pair(raw.byteLength, 3, () => ungroupBytes(g, w, out), () => ungroupBytesJs(g, w, out)));
  row(`${dt} group + plane stats`, await pair(raw.byteLength, 3, () => groupBytesStats(raw, w, out), () => {
    groupBytesJs(raw, w, out);
    return planeRanges(raw.byteLength, w).map(([a, b]) => planeStats(out.subarray(a, b)));
  }));
  row(`${dt} delta apply`, await pair(raw.byteLength, 3, () => applyDelta(raw, base, w, out), () => applyDeltaJs(raw, base, w, out)));
  const d = applyDeltaJs(raw, base, w, new Uint8Array(raw.byteLength));
  row(`${dt} delta undo`, await pair(raw.byteLength, 3, () => undoDelta(d, base, w, out), () => undoDeltaJs(d, base, w, out)));
  row(`${dt} delta+group+stats (encode)`, await pair(raw.byteLength, 3, () => applyDeltaGrouped(raw, base, w, out), () => {
    applyDeltaJs(raw, base, w, tmp);
    groupBytesJs(tmp, w, out);
    return planeRanges(raw.byteLength, w).map(([a, b]) => planeStats(out.subarray(a, b)));
  }));
  const dg = groupBytesJs(d, w);
  row(`${dt} ungroup+undo (decode)`, await pair(raw.byteLength, 3, () => undoDeltaGrouped(dg, base, w, 'sub', out), () => {
    ungroupBytesJs(dg, w, out);
    return undoDeltaJs(out, base, w, out);
  }));
}

console.log('\ncrossover (fp32 chunk of n bytes: kernel path incl. copies / TS throughput)');
const gk = loadKernel('byte-group')!, dk = loadKernel('delta')!;
/** What groupBytes / applyDeltaGrouped do above KERNEL_MIN_BYTES, called at any length. */
function kernelGroup(raw: Uint8Array, o: Uint8Array): void {
  const n = raw.byteLength, at = align16(gk.heapBase), to = at + align16(n);
  const mem = gk.reserve(to - gk.heapBase + n);
  mem.set(raw, at);
  gk.fn.group_bytes!(at, to, n, 4);
  o.set(mem.subarray(to, to + n));
}
function kernelDeltaGroup(raw: Uint8Array, base: Uint8Array, o: Uint8Array): void {
  const n = raw.byteLength, a = align16(dk.heapBase), b = a + align16(n), c = b + align16(n);
  const mem = dk.reserve(c - dk.heapBase + n);
  mem.set(raw, a);
  mem.set(base, b);
  dk.fn.delta_group!(a, b, c, n, 4, 1);
  o.set(mem.subarray(c, c + n));
}
for (const n of [64, 128, 256, 512, 1024, 2048, 4096, 16384, 65536]) {
  const raw = c100.subarray(0, n), base = c50.subarray(0, n), o = out.subarray(0, n), t = tmp.subarray(0, n);
  const reps = Math.max(8, (512 * 1024) / n) | 0;
  const [a, b] = await pair(n, reps, () => kernelGroup(raw, o), () => groupBytesJs(raw, 4, o));
  const [c, d] = await pair(n, reps, () => kernelDeltaGroup(raw, base, o), () => groupBytesJs(applyDeltaJs(raw, base, 4, t), 4, o));
  console.log(`${String(n).padStart(6)} B   group ${(a / b).toFixed(2)}   delta+group ${(c / d).toFixed(2)}`);
}

console.log('\nencodeChunk / decodeChunk, 4 MiB fp32 (kernels vs ENGRAM_KERNELS=js, same process)');
const withEnv = (v: string, f: () => Promise<unknown>) => async (): Promise<unknown> => {
  process.env.ENGRAM_KERNELS = v;
  try {
    return await f();
  } finally {
    delete process.env.ENGRAM_KERNELS;
  }
};
const baseRef = { hash: sha256Hex(c50), bytes: c50 };
const key = await encodeChunk(f32, { width: 4 });
const delta = await encodeChunk(c100, { width: 4, base: baseRef });
const getBase = async (): Promise<Uint8Array> => c50;
row('encode keyframe (safetensors)', await pair(f32.byteLength, 1, withEnv('', () => encodeChunk(f32, { width: 4 })), withEnv('js', () => encodeChunk(f32, { width: 4 }))));
row('decode keyframe', await pair(f32.byteLength, 1, withEnv('', () => decodeChunk(key)), withEnv('js', () => decodeChunk(key))));
row('encode delta (ckpt_seq)', await pair(c100.byteLength, 1, withEnv('', () => encodeChunk(c100, { width: 4, base: baseRef })), withEnv('js', () => encodeChunk(c100, { width: 4, base: baseRef }))));
row('decode delta', await pair(c100.byteLength, 1, withEnv('', () => decodeChunk(delta, { getBase })), withEnv('js', () => decodeChunk(delta, { getBase }))));
