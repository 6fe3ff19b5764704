/**
 * Micro-benchmark of the Huffman plane coder against rANS: encode and decode MB/s of the WebAssembly
 * Huffman kernel, the WebAssembly rANS kernel and the TypeScript Huffman loops on the exponent planes
 * of real-looking weights (the cached W1 workload, bench/.cache/w1-v1-128MiB.bin: 4 MiB chunks of
 * fp32, byte-grouped, plane 3 = 1 MiB each; and W2's bf16 planes when cached), with each coder's
 * size against the plane's order-0 entropy. The coders run interleaved in one process and the medians
 * are printed, timed in this thread's CPU time (process.cpuUsage), as this shared machine is noisy
 * and often oversubscribed: wall time would count the other processes' turns on the cores.
 *
 *   ENGRAM_BENCH_CACHE=/work/main/bench/.cache node --import tsx bench/huffman.ts [rounds] [planes]
 */
import { existsSync, readFileSync } from 'node:fs';
import { groupBytes } from '../src/codec/index.ts';
import { huffmanDecodeWith, huffmanEncodeWith } from '../src/codec/huffman.ts';
import { ransDecodeWith, ransEncodeWith } from '../src/codec/rans.ts';
import { cachePath } from './cached-tensor-set.ts';

const CHUNK = 4 << 20;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Plane `p` of every `count`-th 4 MiB chunk of `file`, grouped by `width`. */
function planes(file: string, width: number, p: number, count: number): Uint8Array[] {
  const buf = new Uint8Array(readFileSync(file));
  const chunks = Math.floor(buf.byteLength / CHUNK);
  const out: Uint8Array[] = [];
  for (let c = 0; c < chunks && out.length < count; c += Math.max(1, Math.floor(chunks / count))) {
    const g = groupBytes(buf.subarray(c * CHUNK, (c + 1) * CHUNK), width);
    const len = CHUNK / width;
    out.push(g.slice(p * len, (p + 1) * len));
  }
  return out;
}

/** Order-0 entropy of `p` in bytes. */
function entropyBytes(p: Uint8Array): number {
  const c = new Float64Array(256);
  for (let i = 0; i < p.length; i++) c[p[i]!]++;
  let bits = 0;
  for (const x of c) if (x > 0) bits -= x * Math.log2(x / p.length);
  return bits / 8;
}

/** CPU seconds of this process so far. */
function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds per pass of `fn` over every plane. */
function time(fn: (p: Uint8Array, i: number) => unknown, ps: Uint8Array[]): number {
  const t = cpu();
  for (let i = 0; i < ps.length; i++) fn(ps[i]!, i);
  return cpu() - t;
}

function run(name: string, ps: Uint8Array[], rounds: number): void {
  const bytes = ps.reduce((a, p) => a + p.byteLength, 0);
  const hw = ps.map((p) => huffmanEncodeWith('wasm', p));
  const rw = ps.map((p) => ransEncodeWith('wasm', p));
  for (const [i, p] of ps.entries()) {
    if (!Buffer.from(hw[i]!).equals(Buffer.from(huffmanEncodeWith('js', p)))) throw new Error(`${name}: the Huffman kernel's bytes differ`);
  }
  const ent = ps.reduce((a, p) => a + entropyBytes(p), 0);
  const size = (xs: Uint8Array[]): number => xs.reduce((a, x) => a + x.byteLength, 0);
  const out = ps.map((p) => new Uint8Array(p.byteLength));
  const coders: [string, (p: Uint8Array, i: number) => unknown][] = [
    ['enc huffman wasm', (p) => huffmanEncodeWith('wasm', p)],
    ['enc rANS wasm', (p) => ransEncodeWith('wasm', p)],
    ['enc huffman TS', (p) => huffmanEncodeWith('js', p)],
    ['dec huffman wasm', (p, i) => huffmanDecodeWith('wasm', hw[i]!, p.byteLength, out[i]!)],
    ['dec rANS wasm', (p, i) => ransDecodeWith('wasm', rw[i]!, p.byteLength, out[i]!)],
    ['dec huffman TS', (p, i) => huffmanDecodeWith('js', hw[i]!, p.byteLength, out[i]!)],
  ];
  const t: number[][] = coders.map(() => []);
  // One untimed round first: the kernels start in V8's baseline tier.
  for (const [, fn] of coders) time(fn, ps);
  for (let r = 0; r < rounds; r++) for (const [j, [, fn]] of coders.entries()) t[j]!.push(time(fn, ps));
  console.log(`\n${name}: ${ps.length} planes of ${ps[0]!.byteLength} bytes, entropy ${((8 * ent) / bytes).toFixed(3)} bits/byte`);
  console.log(`  size vs entropy: huffman ${(size(hw) / ent).toFixed(4)}  rANS ${(size(rw) / ent).toFixed(4)}  (huffman/rANS ${(size(hw) / size(rw)).toFixed(4)})`);
  for (const [j, [label]] of coders.entries()) console.log(`  ${label.padEnd(18)} ${(bytes / 1e6 / median(t[j]!)).toFixed(0).padStart(6)} MB/s (CPU)`);
  const mbs = t.map((x) => bytes / 1e6 / median(x));
  console.log(`  huffman wasm / rANS wasm: encode ${(mbs[0]! / mbs[1]!).toFixed(2)}×, decode ${(mbs[3]! / mbs[4]!).toFixed(2)}×`);
}

const rounds = Number(process.argv[2] ?? 11);
const count = Number(process.argv[3] ?? 8);
const w1 = `${cachePath('w1-v1-128MiB')}.bin`;
if (!existsSync(w1)) throw new Error(`${w1} is missing: run the bench suite once (or set ENGRAM_BENCH_CACHE) to generate W1`);
run('W1 fp32 exponent plane (byte 3)', planes(w1, 4, 3, count), rounds);
const w2 = `${cachePath('w2-v1-128MiB')}.bin`;
if (existsSync(w2)) run('W2 bf16 exponent plane (byte 1)', planes(w2, 2, 1, count), rounds);
