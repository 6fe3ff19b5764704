/**
 * Byte planes of real weights for the entropy coders' differential tests (rANS and Huffman
 * kernels): the float32 tensors of committed fixtures, their byte planes, their bfloat16 copy.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { groupBytes } from '../../src/codec/index.ts';
import { openFileSource, readTensorFile } from '../../src/formats/index.ts';

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
