/**
 * Micro-benchmark of the rANS coder, WebAssembly kernel against the TypeScript loops, on byte planes
 * of real weights (the three ckpt_seq checkpoints and the large safetensors fixture): encode and
 * decode MB/s of 1 MiB planes (fp32 exponent plane, bf16 exponent plane, bf16 low byte), and the
 * time per call of both at small sizes (the crossover). Runs A and B interleaved in one process and
 * prints medians, as this shared machine is noisy.
 *
 *   node --import tsx bench/rans-kernel.ts [rounds]
 */
import { openFileSource, readTensorFile } from '../src/formats/index.ts';
import { groupBytes } from '../src/codec/index.ts';
import { ransDecodeWith, ransEncodeWith } from '../src/codec/rans.ts';
import { KERNEL_MIN_BYTES } from '../src/codec/rans-kernel.ts';

const FILES = [
  'test/fixtures/torch/corpus/step_0050.pt',
  'test/fixtures/torch/corpus/step_0100.pt',
  'test/fixtures/torch/corpus/step_0150.pt',
  'test/fixtures/safetensors/large.safetensors',
];
const MiB = 1 << 20;

/** Every float32 tensor of the files, concatenated (little-endian bytes). */
async function f32Bytes(): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const path of FILES) {
    const src = await openFileSource(new URL(`../${path}`, import.meta.url).pathname);
    try {
      const file = await readTensorFile(src);
      for (const t of file.tensors) if (t.dtype === 'F32') parts.push(await t.load());
    } finally {
      await src.close();
    }
  }
  return Buffer.concat(parts);
}

/** Plane `p` of `width`-byte elements, cut to `n` bytes. */
function plane(bytes: Uint8Array, width: number, p: number, n: number): Uint8Array {
  const usable = bytes.subarray(0, bytes.byteLength - (bytes.byteLength % width));
  const g = groupBytes(usable, width);
  const len = usable.byteLength / width;
  if (len < n) throw new Error(`only ${len} bytes in plane ${p}`);
  return g.slice(p * len, p * len + n);
}

/** bf16 (round to nearest even) of every float32. */
function toBf16(f32: Uint8Array): Uint8Array {
  const u = new Uint32Array(f32.buffer, f32.byteOffset, f32.byteLength >> 2);
  const out = new Uint16Array(u.length);
  for (let i = 0; i < u.length; i++) out[i] = (u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16;
  return new Uint8Array(out.buffer);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Seconds per call of `fn`, run `reps` times. */
function time(fn: () => unknown, reps: number): number {
  const t = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t) / 1000 / reps;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 15);
  const f32 = await f32Bytes();
  const bf16 = toBf16(f32);
  const planes: [string, Uint8Array][] = [
    ['fp32 exponent (byte 3)', plane(f32, 4, 3, MiB)],
    ['bf16 exponent (byte 1)', plane(bf16, 2, 1, MiB)],
    ['bf16 low byte (byte 0)', plane(bf16, 2, 0, MiB)],
  ];
  console.log(`rANS, 1 MiB planes of real weights (${(f32.byteLength / MiB).toFixed(1)} MiB of fp32), ${rounds} interleaved rounds, median MB/s`);
  console.log('plane                     ratio  enc wasm   enc TS  ×      dec wasm   dec TS  ×');
  for (const [name, p] of planes) {
    const enc = ransEncodeWith('wasm', p);
    if (!Buffer.from(enc).equals(Buffer.from(ransEncodeWith('js', p)))) throw new Error(`${name}: the kernel's bytes differ`);
    const out = new Uint8Array(p.byteLength);
    const r: number[][] = [[], [], [], []];
    for (let round = 0; round < rounds; round++) {
      r[0]!.push(time(() => ransEncodeWith('wasm', p), 3));
      r[1]!.push(time(() => ransEncodeWith('js', p), 3));
      r[2]!.push(time(() => ransDecodeWith('wasm', enc, p.byteLength, out), 3));
      r[3]!.push(time(() => ransDecodeWith('js', enc, p.byteLength, out), 3));
    }
    const mbs = r.map((t) => p.byteLength / 1e6 / median(t));
    console.log(`${name.padEnd(24)} ${(enc.byteLength / p.byteLength).toFixed(3)}  ${mbs[0]!.toFixed(0).padStart(8)} ${mbs[1]!.toFixed(0).padStart(8)}  ${(mbs[0]! / mbs[1]!).toFixed(2)}   ${mbs[2]!.toFixed(0).padStart(8)} ${mbs[3]!.toFixed(0).padStart(8)}  ${(mbs[2]! / mbs[3]!).toFixed(2)}`);
  }
  // Small planes, both loops forced: where the two cross is KERNEL_MIN_BYTES.
  console.log(`\nsmall planes (ransEncode/ransDecode use the kernel from ${KERNEL_MIN_BYTES} bytes), µs per call, median`);
  console.log('bytes     enc wasm   enc TS     dec wasm   dec TS');
  const source = plane(f32, 4, 3, MiB);
  for (const n of [256, 512, 1024, 2048, 4096, 16384, 65536]) {
    const p = source.subarray(0, n);
    const enc = ransEncodeWith('js', p);
    const out = new Uint8Array(n);
    const reps = Math.max(20, (1 << 22) / n / 4) | 0;
    const r: number[][] = [[], [], [], []];
    for (let round = 0; round < rounds; round++) {
      r[0]!.push(time(() => ransEncodeWith('wasm', p), reps));
      r[1]!.push(time(() => ransEncodeWith('js', p), reps));
      r[2]!.push(time(() => ransDecodeWith('wasm', enc, n, out), reps));
      r[3]!.push(time(() => ransDecodeWith('js', enc, n, out), reps));
    }
    console.log(`${String(n).padEnd(8)} ${r.map((t) => (median(t) * 1e6).toFixed(1).padStart(9)).join('  ')}`);
  }
}

await main();
