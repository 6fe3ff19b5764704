/**
 * Byte planes of real weights for the entropy coders' differential tests (rANS and Huffman
 * kernels): the float32 tensors of committed fixtures, their byte planes, their bfloat16 copy.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { groupBytes } from '../../src/codec/index.ts';
import { openFileSource, readTensorFile } from '../../src/formats/index.ts';
import { rng } from './weights.ts';

/** The package root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Three consecutive real training checkpoints (torch, 50 Adam steps apart). */
export const CHECKPOINTS = ['step_0050', 'step_0100', 'step_0150'].map((s) => `test/fixtures/torch/corpus/${s}.pt`);
/** The large safetensors fixture. */
export const LARGE = 'test/fixtures/safetensors/large.safetensors';

/** Exponent-like: a geometric spread around one symbol, as the exponent byte of trained weights. */
export const skewed = [500, 200, 120, 80, 40, 25, 15, 10, 5, 3, 1, 1];

/** Every float32 tensor of `path` (relative to the package root), concatenated as little-endian bytes. */
export async function f32Of(path: string): Promise<Uint8Array> {
  const src = await openFileSource(`${ROOT}${path}`);
  try {
    const file = await readTensorFile(src);
    const parts: Uint8Array[] = [];
    for (const t of file.tensors) if (t.dtype === 'F32') parts.push(await t.load());
    assert.ok(parts.length > 0, `${path} holds float32 tensors`);
    return Buffer.concat(parts);
  } finally {
    await src.close();
  }
}

/** The byte planes of `bytes` as elements of `width` bytes (its tail ignored). */
export function planesOf(bytes: Uint8Array, width: number): Uint8Array[] {
  const len = Math.floor(bytes.byteLength / width);
  const g = groupBytes(bytes.subarray(0, len * width), width);
  return Array.from({ length: width }, (_, p) => g.subarray(p * len, (p + 1) * len));
}

/** bf16 (round to nearest even) of every float32 of `f32`. */
export function toBf16(f32: Uint8Array): Uint8Array {
  const u = new Uint32Array(Uint8Array.from(f32).buffer);
  const out = new Uint16Array(u.length);
  for (let i = 0; i < u.length; i++) out[i] = (u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16;
  return new Uint8Array(out.buffer);
}

/** Byte-for-byte equality of two views. */
export const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * Calls `visit` on every byte plane of real weights — the three checkpoints and the large fixture,
 * fp32 and bf16, and the XOR deltas of consecutive checkpoints — whole, and on `slices` slices of
 * each at random offsets and lengths (odd ones included, seeded). Returns how many planes and bytes.
 */
export async function eachRealPlane(slices: number, visit: (plane: Uint8Array, what: string) => void): Promise<{ planes: number; bytes: number }> {
  const ckpts = await Promise.all(CHECKPOINTS.map(f32Of));
  const large = await f32Of(LARGE);
  const sources: [string, Uint8Array[]][] = [];
  for (const [i, c] of ckpts.entries()) sources.push([`step ${i} fp32`, planesOf(c, 4)], [`step ${i} bf16`, planesOf(toBf16(c), 2)]);
  sources.push(['large fp32', planesOf(large, 4)], ['large bf16', planesOf(toBf16(large), 2)]);
  for (let i = 0; i + 1 < ckpts.length; i++) {
    const a = ckpts[i]!, b = ckpts[i + 1]!;
    assert.equal(a.byteLength, b.byteLength, 'consecutive checkpoints hold the same tensors');
    const x = new Uint8Array(a.byteLength);
    for (let j = 0; j < x.length; j++) x[j] = a[j]! ^ b[j]!;
    sources.push([`xor ${i}→${i + 1}`, planesOf(x, 4)]);
  }
  let planes = 0;
  let bytes = 0;
  const r = rng(5);
  for (const [name, ps] of sources) {
    for (const [k, p] of ps.entries()) {
      visit(p, `${name} plane ${k} (${p.byteLength} bytes)`);
      planes++;
      bytes += p.byteLength;
      for (let j = 0; j < slices; j++) {
        const n = Math.min(p.byteLength, Math.floor(2 ** (r() * 17)));
        const at = Math.floor(r() * (p.byteLength - n + 1));
        visit(p.subarray(at, at + n), `${name} plane ${k} [${at}, +${n})`);
        planes++;
        bytes += n;
      }
    }
  }
  return { planes, bytes };
}
