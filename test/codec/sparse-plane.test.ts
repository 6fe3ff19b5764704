import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { decodeChunk, encodeChunk, readChunkHeader, sha256Hex } from '../../src/codec/index.ts';
import { applyDeltaGrouped } from '../../src/codec/delta-transform.ts';
import { ransEncode } from '../../src/codec/rans.ts';
import { scatterJs, sparseDecode, sparseEncode } from '../../src/codec/sparse-plane.ts';
import { CHECKPOINTS, f32Of, same, toBf16 } from '../helpers/weight-planes.ts';
import { rng } from '../helpers/weights.ts';

// The kernel and the TypeScript reference are compared explicitly (scatterJs), so this file runs the
// kernel whatever the environment says; planes under 4 KiB take the reference inside sparseDecode.
delete process.env.ENGRAM_KERNELS;

/** `n` bytes, each non-zero with probability `density`. */
function sparseBytes(n: number, density: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (r() < density) out[i] = 1 + Math.floor(r() * 255);
  return out;
}

function roundTrip(plane: Uint8Array, what: string): Uint8Array {
  const enc = sparseEncode(plane);
  const back = new Uint8Array(plane.byteLength + 3).fill(0xa5);
  sparseDecode(enc, plane.byteLength, back.subarray(0, plane.byteLength));
  assert.ok(same(back.subarray(0, plane.byteLength), plane), what);
  assert.deepEqual([...back.subarray(plane.byteLength)], [0xa5, 0xa5, 0xa5], `${what}: nothing written past the plane`);
  return enc;
}

/** The top byte plane of the integer-difference delta between consecutive real checkpoints (fp32 and bf16). */
async function realDeltaPlanes(): Promise<{ what: string; plane: Uint8Array; raw: Uint8Array; base: Uint8Array; width: number }[]> {
  const ckpts = await Promise.all(CHECKPOINTS.map(f32Of));
  const out = [];
  for (let i = 0; i + 1 < ckpts.length; i++) {
    for (const [width, a, b] of [[4, ckpts[i]!, ckpts[i + 1]!], [2, toBf16(ckpts[i]!), toBf16(ckpts[i + 1]!)]] as const) {
      const g = new Uint8Array(b.byteLength);
      applyDeltaGrouped(b, a, width, g);
      const len = Math.floor(b.byteLength / width);
      out.push({ what: `step ${i}→${i + 1} width ${width}`, plane: g.subarray((width - 1) * len, width * len), raw: b, base: a, width });
    }
  }
  return out;
}

test('the sparse code round-trips every length and density: empty, 1 byte, odd lengths, all zero, no zero', () => {
  let planes = 0;
  for (const n of [0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4099, 65536 + 3]) {
    for (const density of [0, 0.01, 0.1, 0.5, 0.9, 1]) {
      roundTrip(sparseBytes(n, density, n * 31 + Math.round(density * 100)), `n ${n} density ${density}`);
      planes++;
    }
  }
  // Every byte value, alone among zeros and all at once.
  const every = new Uint8Array(512);
  for (let v = 0; v < 256; v++) every[2 * v + 1] = v;
  roundTrip(every, 'every value');
  roundTrip(new Uint8Array(4096).fill(0xff), 'all 0xff');
  assert.equal(planes, 90);
});

test('on the top plane of real checkpoint deltas the sparse code is within 3 % of rANS and decodes exactly', async () => {
  const real = await realDeltaPlanes();
  assert.equal(real.length, 4);
  for (const { what, plane } of real) {
    const enc = roundTrip(plane, what);
    const rans = ransEncode(plane).byteLength;
    assert.ok(enc.byteLength <= 1.03 * rans, `${what}: sparse ${enc.byteLength} vs rANS ${rans}`);
  }
});

test('a delta chunk of real checkpoints codes its mostly-zero top plane sparse (plane codec 4) and decodes bit-exact', async () => {
  for (const { what, raw, base, width } of await realDeltaPlanes()) {
    const baseHash = sha256Hex(base);
    const enc = await encodeChunk(raw, { width, base: { hash: baseHash, bytes: base } });
    const h = readChunkHeader(enc);
    assert.equal(h.transform, 'sub-delta', what);
    // The plane table: count, then per plane a codec byte and a u32 length; the top plane is the last.
    const codecs: number[] = [];
    const view = new DataView(enc.buffer, enc.byteOffset, enc.byteLength);
    for (let at = h.headerLength + 1, p = 0; p < enc[h.headerLength]!; p++) {
      codecs.push(enc[at]!);
      at += 5 + view.getUint32(at + 1, true);
    }
    assert.equal(codecs[width - 1], 4, `${what}: plane codecs ${codecs.join(',')}`);
    const back = await decodeChunk(enc, { expectedHash: sha256Hex(raw), getBase: async () => base });
    assert.ok(same(back, raw), what);
  }
});

test('a truncated, grown or inconsistent sparse payload is an IntegrityMismatch', () => {
  const plane = sparseBytes(5003, 0.1, 9);
  const enc = sparseEncode(plane);
  const checks = (bad: Uint8Array, what: string, length = plane.byteLength): void => {
    const out = new Uint8Array(length);
    try {
      sparseDecode(bad, length, out);
    } catch (e) {
      assert.ok(isEngramError(e, 'IntegrityMismatch'), `${what}: ${(e as Error).message}`);
      return;
    }
    assert.fail(`${what} decoded`);
  };
  for (let cut = 0; cut < enc.byteLength; cut += 97) checks(enc.subarray(0, cut), `truncated at ${cut}`);
  const grown = new Uint8Array(enc.byteLength + 1);
  grown.set(enc);
  assert.throws(() => sparseDecode(grown, plane.byteLength, new Uint8Array(plane.byteLength)), (e) => isEngramError(e, 'IntegrityMismatch'));
  const count = new Uint8Array(enc);
  new DataView(count.buffer).setUint32(0, plane.byteLength + 1, true);
  assert.throws(() => sparseDecode(count, plane.byteLength, new Uint8Array(plane.byteLength)), (e) => isEngramError(e, 'IntegrityMismatch'));
  const fewer = new Uint8Array(enc);
  new DataView(fewer.buffer).setUint32(0, new DataView(enc.buffer, enc.byteOffset).getUint32(0, true) - 1, true);
  assert.throws(() => sparseDecode(fewer, plane.byteLength, new Uint8Array(plane.byteLength)), (e) => isEngramError(e, 'IntegrityMismatch'));
  // A mask flagging a byte past the plane's end: the same payload read as a shorter plane.
  const tail = sparseBytes(13, 1, 2);
  assert.throws(() => sparseDecode(sparseEncode(tail), 12, new Uint8Array(12)), (e) => isEngramError(e, 'IntegrityMismatch'));
});

test('a delta chunk whose sparse plane is damaged decodes to its exact bytes or is an IntegrityMismatch, never other bytes', async () => {
  const { raw, base, width } = (await realDeltaPlanes())[0]!;
  const enc = await encodeChunk(raw, { width, base: { hash: sha256Hex(base), bytes: base } });
  const h = readChunkHeader(enc);
  const view = new DataView(enc.buffer, enc.byteOffset, enc.byteLength);
  let at = h.headerLength + 1;
  for (let p = 0; p < width - 1; p++) at += 5 + view.getUint32(at + 1, true);
  const end = at + 5 + view.getUint32(at + 1, true);
  const expectedHash = sha256Hex(raw);
  let refused = 0;
  let flips = 0;
  // Every byte position class of the sparse plane: its codec byte, length, count, stream tables, bodies.
  for (let i = at; i < end; i += i < at + 40 ? 1 : 211) {
    const bad = new Uint8Array(enc);
    bad[i]! ^= 0x10;
    flips++;
    try {
      const back = await decodeChunk(bad, { expectedHash, getBase: async () => base });
      assert.ok(same(back, raw), `flip at ${i} decoded to other bytes`);
    } catch (e) {
      assert.ok(isEngramError(e, 'IntegrityMismatch'), `flip at ${i}: ${(e as Error).message}`);
      refused++;
    }
  }
  assert.ok(flips > 100 && refused > flips / 2, `${refused} of ${flips} flips refused`);
});

test('the scatter kernel writes what the TypeScript reference writes, and refuses what it refuses', async () => {
  const { loadKernel } = await import('../../src/codec/wasm/index.ts');
  assert.ok(loadKernel('sparse'), 'the sparse kernel loads (run without ENGRAM_KERNELS=js)');
  const r = rng(77);
  let cases = 0;
  // Random planes of every density and many lengths (below and above the kernel's 4 KiB threshold),
  // and the real delta planes: the kernel runs inside sparseDecode, the reference on the same streams.
  const planes: Uint8Array[] = [];
  for (let i = 0; i < 1000; i++) planes.push(sparseBytes(Math.floor(2 ** (r() * 16)), r() ** 2, 1000 + i));
  for (const { plane } of await realDeltaPlanes()) planes.push(plane);
  for (const plane of planes) {
    const n = plane.byteLength;
    const mask = new Uint8Array((n + 7) >>> 3);
    const values: number[] = [];
    for (let i = 0; i < n; i++) if (plane[i]) { mask[i >>> 3]! |= 1 << (i & 7); values.push(plane[i]!); }
    const ref = new Uint8Array(n);
    scatterJs(mask, Uint8Array.from(values), values.length, n, ref);
    assert.ok(same(ref, plane));
    const viaKernel = new Uint8Array(n);
    sparseDecode(sparseEncode(plane), n, viaKernel);
    assert.ok(same(viaKernel, plane), `length ${n}`);
    cases++;
    // A count one short or one long: both paths refuse.
    if (n >= 4096 && values.length > 0) {
      const enc = sparseEncode(plane);
      for (const delta of [-1, 1]) {
        const bad = new Uint8Array(enc);
        new DataView(bad.buffer).setUint32(0, values.length + delta, true);
        assert.throws(() => sparseDecode(bad, n, new Uint8Array(n)), (e) => isEngramError(e, 'IntegrityMismatch'));
        assert.throws(() => scatterJs(mask, Uint8Array.from([...values, 1]), values.length + delta, n, new Uint8Array(n)), (e) => isEngramError(e, 'IntegrityMismatch'));
      }
    }
  }
  assert.equal(cases, 1004);
});
