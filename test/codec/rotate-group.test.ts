/**
 * The rotated byte grouping (src/codec/rotate-group.ts, wasm/rotate-group.c): the kernel against
 * the TypeScript reference on every length from 0 up, widths 2 and 4, the extremes, random bytes
 * and real weights (fp32 and bf16 of the committed checkpoints), both directions; the layout
 * statistics taken from the raw bytes against planeStats of the grouped planes; and the chunk
 * codec's use of it: float keyframes come out rotated, smaller than plainly grouped, and decode
 * exactly with the kernels and with the TypeScript loops.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeChunk, encodeChunk, readChunkHeader, sha256Hex } from '../../src/codec/index.ts';
import { groupBytesJs, planeRanges } from '../../src/codec/byte-group.ts';
import { planeStats } from '../../src/codec/plane-stats.ts';
import { groupRotated, groupRotatedJs, groupRotatedStats, layoutStats, ungroupRotated, ungroupRotatedJs } from '../../src/codec/rotate-group.ts';
import { loadKernel } from '../../src/codec/wasm/index.ts';
import { isEngramError } from '../../src/errors/index.ts';
import { checkpointF32, highHalves, safetensorsF32 } from '../helpers/kernel-chunks.ts';
import { randomBytes } from '../helpers/weights.ts';

// This file compares the kernel with the reference, so it runs it even under ENGRAM_KERNELS=js.
delete process.env.ENGRAM_KERNELS;

const c100 = checkpointF32(100);
const b100 = highHalves(c100);
const st = safetensorsF32();

const LENGTHS = [0, 1, 2, 3, 5, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 255, 256, 257, 1000, 1023, 4095, 4097, 12_289, 65_537, 131_075, 200_003];

/** Contents of length `n`: the extremes, random bytes, real fp32 and bf16 weights. */
function contents(n: number, seed: number): [string, Uint8Array][] {
  const at = (len: number): number => (seed * 4099) % Math.max(1, len - n);
  return [
    ['zero', new Uint8Array(n)],
    ['equal', new Uint8Array(n).fill(0xbd)],
    ['ones', new Uint8Array(n).fill(0xff)],
    ['random', randomBytes(n, seed)],
    ['ckpt fp32', c100.slice(at(c100.byteLength), at(c100.byteLength) + n)],
    ['ckpt bf16', b100.slice(at(b100.byteLength), at(b100.byteLength) + n)],
    ['safetensors', st.slice(at(st.byteLength), at(st.byteLength) + n)],
  ];
}

test('the rotate-group kernel equals the TypeScript reference both ways, for widths 2 and 4 and every length and content', () => {
  assert.ok(loadKernel('rotate-group'), 'this Node must run WebAssembly SIMD');
  let cases = 0;
  for (const width of [2, 4]) {
    for (const [li, n] of LENGTHS.entries()) {
      for (let seed = 0; seed < 3; seed++) {
        for (const [what, raw] of contents(n, li * 3 + seed + 1)) {
          // An unaligned view, as chunk buffers from the store may be.
          const src = new Uint8Array(n + 1).subarray(1);
          src.set(raw);
          const ref = groupRotatedJs(src, width);
          const got = groupRotated(src, width, new Uint8Array(n));
          assert.deepEqual(got, ref, `group ${what} width ${width} length ${n}`);
          assert.deepEqual(src, raw, 'the input is left as it was');
          assert.deepEqual(ungroupRotated(ref, width, new Uint8Array(n)), raw, `ungroup ${what} width ${width} length ${n}`);
          assert.deepEqual(ungroupRotatedJs(ref, width), raw, `reference ungroup ${what} width ${width} length ${n}`);
          cases++;
        }
      }
    }
  }
  assert.ok(cases >= 1000, `${cases} cases`);
});

test('the reference rotates each element left one bit: the bfloat16 exponent fills the top plane', () => {
  // 1.0 in bf16 is 0x3f80 (sign 0, exponent 0x7f, mantissa 0); -1.5 is 0xbfc0.
  const raw = new Uint8Array([0x80, 0x3f, 0xc0, 0xbf]);
  const g = groupRotatedJs(raw, 2);
  // Rotated: 0x7f00 and 0x7f81: low plane 0x00 0x81 (mantissa then sign), top plane the exponents.
  assert.deepEqual([...g], [0x00, 0x81, 0x7f, 0x7f]);
  const f32 = new Uint8Array(new Float32Array([1, -2]).buffer);
  const g4 = groupRotatedJs(f32, 4);
  assert.deepEqual([...g4.subarray(6)], [0x7f, 0x80], 'float32 exponents 127 and 128 in the top plane');
  assert.equal(g4[1], 1, 'the sign of -2 is the lowest bit of its low byte');
});

test('layoutStats equals planeStats of the plain and the rotated planes', () => {
  let cases = 0;
  for (const width of [2, 4]) {
    for (const n of [1, 2, 3, 6, 100, 4097, 65_536, 65_539, 300_001, 1 << 20]) {
      for (const [what, raw] of contents(Math.min(n, 1 << 20), n)) {
        const { plain, rotated } = layoutStats(raw, width);
        const bounds = planeRanges(raw.byteLength, width);
        const g = groupBytesJs(raw, width), r = groupRotatedJs(raw, width);
        assert.deepEqual(plain, bounds.map(([a, b]) => planeStats(g.subarray(a, b))), `plain ${what} width ${width} length ${n}`);
        assert.deepEqual(rotated, bounds.map(([a, b]) => planeStats(r.subarray(a, b))), `rotated ${what} width ${width} length ${n}`);
        cases++;
      }
    }
  }
  assert.ok(cases >= 100);
});

test('the kernel samples both layouts while grouping exactly as layoutStats does', () => {
  let cases = 0;
  for (const width of [2, 4]) {
    for (const n of [0, 1, 255, 256, 257, 4099, 131_072, 131_075, 300_001, 1 << 20, (1 << 20) + 6]) {
      for (const [what, raw] of contents(Math.min(n, st.byteLength), n + width)) {
        const out = new Uint8Array(raw.byteLength);
        const got = groupRotatedStats(raw, width, out);
        assert.deepEqual(out, groupRotatedJs(raw, width), `grouping ${what} width ${width} length ${raw.byteLength}`);
        assert.deepEqual(got, layoutStats(raw, width), `stats ${what} width ${width} length ${raw.byteLength}`);
        cases++;
      }
    }
  }
  assert.ok(cases >= 100);
});

test('float keyframes are stored rotated, smaller than plain grouping would give, and decode exactly', async () => {
  for (const [what, raw, width] of [['ckpt bf16', b100, 2], ['ckpt fp32', c100, 4], ['safetensors fp32', st.subarray(0, 1 << 20), 4]] as const) {
    const enc = await encodeChunk(raw, { width });
    const h = readChunkHeader(enc);
    assert.equal(h.transform, 'bytegroup');
    assert.equal(h.rotated, true, `${what}: rotated`);
    assert.equal(enc[5], 4, `${what}: transform byte 4, byte-group of rotated elements`);
    assert.deepEqual(await decodeChunk(enc, { expectedHash: sha256Hex(raw) }), raw, what);
    // The top plane of the rotated layout has less order-0 entropy than the plain one's.
    const { plain, rotated } = layoutStats(raw, width);
    assert.ok(rotated[width - 1]!.entropyBytes < plain[width - 1]!.entropyBytes * 0.98, `${what}: ${rotated[width - 1]!.bitsPerByte} vs ${plain[width - 1]!.bitsPerByte} bits`);
  }
  // Random bytes gain nothing from rotating and are not rotated (nor coded).
  const rnd = randomBytes(100_000, 9);
  const enc = await encodeChunk(rnd, { width: 2 });
  assert.equal(readChunkHeader(enc).codec, 'raw');
});

test('a rotated byte-group where no rotation can be is IntegrityMismatch, and so is a rotation dropped', async () => {
  // A width-8 chunk (no rotation for 8-byte elements) with transform byte 4 set by hand.
  const raw = st.subarray(0, 80_000);
  const enc = await encodeChunk(raw, { width: 8 });
  assert.equal(readChunkHeader(enc).codec, 'zstd-planes');
  const bad = new Uint8Array(enc);
  bad[5] = 4;
  const mismatch = (e: unknown): boolean => isEngramError(e) && e.code === 'IntegrityMismatch';
  assert.throws(() => readChunkHeader(bad), mismatch);
  await assert.rejects(decodeChunk(bad), mismatch);
  // A rotated chunk read as plainly grouped decodes to other bytes, which the hash refuses.
  const f = await encodeChunk(b100, { width: 2 });
  const g = new Uint8Array(f);
  g[5] = 1;
  await assert.rejects(decodeChunk(g, { expectedHash: sha256Hex(b100) }), mismatch);
});
