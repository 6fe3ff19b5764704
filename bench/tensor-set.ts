/**
 * @module TensorSet: the tensors of one workload checkpoint as views into one buffer, plus the
 * index that locates them. The same layout is the on-disk cache (`<path>.bin` + `<path>.json`) and
 * the raw file the torch baseline reads, so every contender starts from the same bytes.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import type { DType, Shape, TensorInput } from '../src/index.ts';
import { byteLengthOf } from '../src/index.ts';

/** Where one tensor sits in a TensorSet's buffer. */
export interface TensorSlot {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
  readonly offset: number;
  readonly byteLength: number;
}

/** Tensors laid out in one buffer (each at a 64-byte aligned offset). */
export interface TensorSet {
  readonly slots: readonly TensorSlot[];
  readonly data: Uint8Array;
  /** Sum of the tensors' byte lengths (the buffer also holds alignment padding). */
  readonly rawBytes: number;
}

const ALIGN = 64;

/** Lays out tensors of the given dtypes and shapes; returns slots and the buffer size they need. */
export function layoutSlots(specs: readonly { name: string; dtype: DType; shape: Shape }[]): { slots: TensorSlot[]; size: number; rawBytes: number } {
  const slots: TensorSlot[] = [];
  let at = 0;
  let raw = 0;
  for (const s of specs) {
    const byteLength = byteLengthOf(s.dtype, s.shape);
    slots.push({ name: s.name, dtype: s.dtype, shape: [...s.shape], offset: at, byteLength });
    at += Math.ceil(byteLength / ALIGN) * ALIGN;
    raw += byteLength;
  }
  return { slots, size: at, rawBytes: raw };
}

/** The bytes of one tensor (a view, no copy). */
export function slotBytes(set: TensorSet, slot: TensorSlot): Uint8Array {
  return set.data.subarray(slot.offset, slot.offset + slot.byteLength);
}

/** A Float32Array view of an F32 tensor. */
export function slotFloat32(set: TensorSet, slot: TensorSlot): Float32Array {
  return new Float32Array(set.data.buffer, set.data.byteOffset + slot.offset, slot.byteLength / 4);
}

/** The set as `Repository.save` tensors (views, no copy). */
export function saveTensors(set: TensorSet): Record<string, TensorInput> {
  const out: Record<string, TensorInput> = {};
  for (const s of set.slots) out[s.name] = { dtype: s.dtype, shape: s.shape, data: slotBytes(set, s) };
  return out;
}

/** SHA-256 of each tensor's bytes, by name: what a bit-exact restore must reproduce. */
export function tensorHashes(set: TensorSet): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of set.slots) out[s.name] = createHash('sha256').update(slotBytes(set, s)).digest('hex');
  return out;
}

/** Writes `<path>.bin` and `<path>.json` (the index last, so a present index means a whole cache entry). */
export async function writeTensorSet(path: string, set: TensorSet): Promise<void> {
  const fh = await open(`${path}.bin.tmp`, 'w');
  try {
    let off = 0;
    while (off < set.data.byteLength) off += (await fh.write(set.data, off, Math.min(64 << 20, set.data.byteLength - off))).bytesWritten;
  } finally {
    await fh.close();
  }
  await rename(`${path}.bin.tmp`, `${path}.bin`);
  await writeFile(`${path}.json`, JSON.stringify({ size: set.data.byteLength, rawBytes: set.rawBytes, slots: set.slots }));
}

/** Reads the index of a cached set. */
export async function readTensorSetIndex(path: string): Promise<{ size: number; rawBytes: number; slots: TensorSlot[] }> {
  return JSON.parse(await readFile(`${path}.json`, 'utf8')) as { size: number; rawBytes: number; slots: TensorSlot[] };
}

/** Reads a cached set; `into` (at least the set's size) is reused instead of allocating. */
export async function readTensorSet(path: string, into?: Uint8Array): Promise<TensorSet> {
  const index = await readTensorSetIndex(path);
  const data = into ? into.subarray(0, index.size) : new Uint8Array(index.size);
  if (data.byteLength < index.size) throw new Error(`buffer of ${data.byteLength} bytes is too small for ${path} (${index.size})`);
  const fh = await open(`${path}.bin`, 'r');
  try {
    let off = 0;
    while (off < index.size) {
      const { bytesRead } = await fh.read(data, off, Math.min(64 << 20, index.size - off), off);
      if (bytesRead === 0) throw new Error(`${path}.bin is shorter than its index says`);
      off += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { slots: index.slots, data, rawBytes: index.rawBytes };
}

/** The tensors of `set` that `keep` accepts (same buffer, no copy). */
export function selectSlots(set: TensorSet, keep: (slot: TensorSlot) => boolean): TensorSet {
  const slots = set.slots.filter(keep);
  return { slots, data: set.data, rawBytes: slots.reduce((n, s) => n + s.byteLength, 0) };
}

/** The byte ranges of the buffer that the set's tensors cover, neighbours (up to alignment padding) merged. */
export function coveredRanges(set: TensorSet): Uint8Array[] {
  const sorted = [...set.slots].sort((a, b) => a.offset - b.offset);
  const ranges: [number, number][] = [];
  for (const s of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && s.offset - last[1] < ALIGN) last[1] = Math.max(last[1], s.offset + s.byteLength);
    else ranges.push([s.offset, s.offset + s.byteLength]);
  }
  return ranges.map(([a, b]) => set.data.subarray(a, b));
}
