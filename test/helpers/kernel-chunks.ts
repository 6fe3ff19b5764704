/**
 * Real weight bytes and a deterministic set of chunks for the codec kernels' differential tests:
 * fp32 tensors of three consecutive checkpoints of a real run (shared/corpus/ckpt_seq, 50 Adam
 * steps apart), the fp32 tensor of test/fixtures/safetensors/large.safetensors, bf16 made from
 * the checkpoints' high halves, and synthetic extremes (zero, all-equal, random).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { randomBytes } from './weights.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CKPT = `${ROOT}../shared/corpus/ckpt_seq/pt`;

/** The bytes of zip member `name` of a torch checkpoint (stored, uncompressed, as torch writes them). */
function zipMember(file: Uint8Array, name: string): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  // The central directory lists every member with its local header offset and size.
  let eocd = file.byteLength - 22;
  while (eocd >= 0 && view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('not a zip file');
  let at = view.getUint32(eocd + 16, true);
  const entries = view.getUint16(eocd + 10, true);
  for (let e = 0; e < entries; e++) {
    const nameLen = view.getUint16(at + 28, true), extra = view.getUint16(at + 30, true), comment = view.getUint16(at + 32, true);
    const entry = Buffer.from(file.buffer, file.byteOffset + at + 46, nameLen).toString();
    const size = view.getUint32(at + 24, true), local = view.getUint32(at + 42, true);
    if (entry === name && view.getUint16(at + 10, true) === 0) {
      const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
      return file.subarray(start, start + size);
    }
    at += 46 + nameLen + extra + comment;
  }
  throw new Error(`no stored member ${name}`);
}

/** fp32 bytes of one 512 KiB tensor (data/1) of checkpoint `step` (50, 100 or 150), copied aligned. */
export function checkpointF32(step: 50 | 100 | 150): Uint8Array {
  const tag = `step_${String(step).padStart(4, '0')}`;
  return new Uint8Array(zipMember(readFileSync(`${CKPT}/${tag}.pt`), `${tag}/data/1`));
}

/** The fp32 weights of test/fixtures/safetensors/large.safetensors (4.4 MB). */
export function safetensorsF32(): Uint8Array {
  const file = readFileSync(`${ROOT}test/fixtures/safetensors/large.safetensors`);
  const headerLength = Number(file.readBigUInt64LE(0));
  return new Uint8Array(file.subarray(8 + headerLength));
}

/** bf16 bytes from fp32 bytes: the high half of each element (truncation, as a cast would keep). */
export function highHalves(f32: Uint8Array): Uint8Array {
  const out = new Uint8Array(f32.byteLength / 2);
  for (let i = 0, j = 0; j < out.byteLength; i += 4, j += 2) {
    out[j] = f32[i + 2]!;
    out[j + 1] = f32[i + 3]!;
  }
  return out;
}

/** One chunk for the encode/decode comparison, optionally with the base it is a delta against. */
export interface KernelChunk {
  readonly label: string;
  readonly width: number;
  readonly raw: Uint8Array;
  readonly base?: Uint8Array;
}

/** The chunks the child process and the test both encode (deterministic). */
export function kernelChunks(): KernelChunk[] {
  const c50 = checkpointF32(50), c100 = checkpointF32(100), c150 = checkpointF32(150);
  const st = safetensorsF32();
  const b50 = highHalves(c50), b100 = highHalves(c100);
  const out: KernelChunk[] = [
    { label: 'ckpt fp32 keyframe', width: 4, raw: c100 },
    { label: 'ckpt fp32 delta', width: 4, raw: c100, base: c50 },
    { label: 'ckpt fp32 delta 150/100', width: 4, raw: c150, base: c100 },
    { label: 'ckpt bf16 keyframe', width: 2, raw: b100 },
    { label: 'ckpt bf16 delta', width: 2, raw: b100, base: b50 },
    { label: 'safetensors fp32 1 MiB', width: 4, raw: st.subarray(0, 1 << 20) },
    { label: 'safetensors as fp64', width: 8, raw: st.subarray(1000, 1000 + 300_003) },
    { label: 'ckpt fp32 as xor fp64 delta', width: 8, raw: c100.subarray(8, 200_008), base: c50.subarray(8, 200_008) },
    { label: 'ckpt odd width 3', width: 3, raw: c100.subarray(1, 100_001), base: c50.subarray(1, 100_001) },
    { label: 'ckpt width 1 delta', width: 1, raw: c100.subarray(0, 70_001), base: c50.subarray(0, 70_001) },
    { label: 'all zero', width: 4, raw: new Uint8Array(65_536) },
    { label: 'all equal', width: 2, raw: new Uint8Array(40_001).fill(0x3f) },
    { label: 'random', width: 4, raw: randomBytes(100_003, 7) },
    { label: 'random vs zero base', width: 4, raw: randomBytes(50_000, 8), base: new Uint8Array(50_000) },
  ];
  for (const len of [1, 5, 17, 4095, 4097, 12_345]) {
    out.push({ label: `ckpt fp32 delta length ${len}`, width: 4, raw: c100.subarray(0, len), base: c50.subarray(0, len) });
    out.push({ label: `ckpt bf16 length ${len}`, width: 2, raw: b100.subarray(3, 3 + len) });
  }
  return out;
}
