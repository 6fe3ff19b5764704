import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngramError, isEngramError } from '../../src/errors/index.ts';
import { decodeChunk, encodeChunk, readChunkHeader, sha256Hex } from '../../src/codec/index.ts';
import { gaussian } from '../helpers/weights.ts';

/** Bytes of `n` float32 weights. */
const trainedLikeF32 = (n: number, seed: number): Uint8Array => new Uint8Array(gaussian(n, seed).buffer);

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

test('float weights are byte-grouped, zstd per plane, smaller than raw, and decode exactly', async () => {
  const raw = trainedLikeF32(256 * 1024, 1);
  const enc = await encodeChunk(raw, { width: 4 });
  const h = readChunkHeader(enc);
  assert.equal(h.transform, 'bytegroup');
  assert.equal(h.codec, 'zstd-planes');
  assert.equal(h.rawLength, raw.byteLength);
  assert.ok(enc.byteLength < raw.byteLength * 0.95, `${enc.byteLength} vs ${raw.byteLength}`);
  const back = await decodeChunk(enc, { expectedHash: sha256Hex(raw) });
  assert.ok(Buffer.from(back).equals(Buffer.from(raw)));
});

test('random bytes are stored raw: nothing shrinks, nothing is paid', async () => {
  const raw = randomBytes(100_000, 5);
  const enc = await encodeChunk(raw, { width: 4 });
  const h = readChunkHeader(enc);
  assert.equal(h.codec, 'raw');
  assert.equal(enc.byteLength, raw.byteLength + h.headerLength);
  assert.deepEqual(await decodeChunk(enc), raw);
});

test('width 1 uses one zstd frame; odd lengths with a tail round-trip for every width', async () => {
  const text = new TextEncoder().encode('engram '.repeat(5000));
  const enc = await encodeChunk(text, { width: 1 });
  assert.equal(readChunkHeader(enc).codec, 'zstd');
  assert.deepEqual(await decodeChunk(enc), text);
  for (const width of [2, 4, 8]) {
    const raw = new Uint8Array(10_003);
    for (let i = 0; i < raw.length; i++) raw[i] = i % 7 === 0 ? 1 : 0;
    assert.deepEqual(await decodeChunk(await encodeChunk(raw, { width })), raw, `width ${width}`);
  }
  assert.deepEqual(await decodeChunk(await encodeChunk(new Uint8Array(0), { width: 4 })), new Uint8Array(0));
});

test('the exponent plane is rANS-coded close to its entropy; mantissa planes stay raw', async () => {
  const raw = trainedLikeF32(1024 * 1024, 11);
  const enc = await encodeChunk(raw, { width: 4 });
  // Order-0 entropy of each byte plane, in bytes: the floor any plane-wise coder can reach.
  let floor = 0;
  for (let k = 0; k < 4; k++) {
    const c = new Array<number>(256).fill(0);
    for (let i = k; i < raw.length; i += 4) c[raw[i]!]!++;
    const n = raw.length / 4;
    let bits = 0;
    for (const v of c) if (v) bits -= v * Math.log2(v / n);
    floor += Math.min(n, bits / 8);
  }
  assert.ok(enc.byteLength < floor * 1.01 + 2048, `${enc.byteLength} bytes vs an entropy floor of ${Math.round(floor)}`);
  assert.ok(Buffer.from(await decodeChunk(enc, { expectedHash: sha256Hex(raw) })).equals(Buffer.from(raw)));
});

test('an integer-difference delta against a similar base is chosen when smaller and needs the base to decode', async () => {
  const base = trainedLikeF32(64 * 1024, 2);
  const next = base.slice();
  const f = new Float32Array(next.buffer);
  for (let i = 0; i < f.length; i += 50) f[i]! += 1e-4;
  const enc = await encodeChunk(next, { width: 4, base: { hash: sha256Hex(base), bytes: base } });
  const h = readChunkHeader(enc);
  assert.equal(h.transform, 'sub-delta');
  assert.equal(h.baseHash, sha256Hex(base));
  await assert.rejects(decodeChunk(enc), (e) => isEngramError(e, 'InvalidArgument'));
  const back = await decodeChunk(enc, { expectedHash: sha256Hex(next), getBase: async () => base });
  assert.ok(Buffer.from(back).equals(Buffer.from(next)));
});

test('deltas round-trip for every width, including 8-byte XOR deltas, odd lengths and unaligned views', async () => {
  for (const width of [1, 2, 4, 8]) {
    for (const length of [width * 5000, width * 5000 + 3]) {
      const backing = new Uint8Array(length + 1);
      const base = trainedLikeF32(Math.ceil(length / 4) + 1, width).subarray(1, 1 + length);
      backing.set(base, 1);
      const next = backing.subarray(1, 1 + length);
      for (let i = 0; i < length; i += 97) next[i] = (next[i]! + 3) & 0xff;
      const enc = await encodeChunk(next, { width, base: { hash: sha256Hex(base), bytes: base } });
      const h = readChunkHeader(enc);
      assert.equal(h.transform, width === 8 ? 'xor-delta' : 'sub-delta', `width ${width}`);
      const back = await decodeChunk(enc, { expectedHash: sha256Hex(next), getBase: async () => base });
      assert.ok(Buffer.from(back).equals(Buffer.from(next)), `width ${width} length ${length}`);
    }
  }
});

test('a wrong expected hash is an IntegrityMismatch naming both hashes', async () => {
  const enc = await encodeChunk(trainedLikeF32(1000, 3), { width: 4 });
  await assert.rejects(decodeChunk(enc, { expectedHash: '0'.repeat(64) }), (e) => isEngramError(e, 'IntegrityMismatch') && e.data.expected === '0'.repeat(64) && typeof e.data.actual === 'string');
});

test('a corrupted chunk object decodes to its exact bytes or is an IntegrityMismatch, never other bytes', async () => {
  const deltaBase = trainedLikeF32(3000, 7);
  const deltaNext = deltaBase.slice();
  for (let i = 0; i < deltaNext.length; i += 40) deltaNext[i] = (deltaNext[i]! + 1) & 0xff;
  const cases: [Uint8Array, number, Uint8Array?][] = [
    [trainedLikeF32(3000, 4), 4], [randomBytes(3000, 6), 1], [new TextEncoder().encode('abc'.repeat(1000)), 1], [deltaNext, 4, deltaBase],
  ];
  for (const [raw, width, base] of cases) {
    const hash = sha256Hex(raw);
    const enc = await encodeChunk(raw, { width, base: base && { hash: sha256Hex(base), bytes: base } });
    if (base) assert.equal(readChunkHeader(enc).transform, 'sub-delta');
    // Every header byte, then a spread of payload bytes.
    const positions = [...Array.from({ length: 24 }, (_, i) => i), ...Array.from({ length: 60 }, (_, i) => Math.floor((i * enc.byteLength) / 60))];
    let rejected = 0;
    let tried = 0;
    for (const pos of positions) {
      if (pos >= enc.byteLength) continue;
      for (const flip of [0x01, 0x80, 0xff]) {
        const bad = enc.slice();
        bad[pos]! ^= flip;
        tried++;
        try {
          // As the repository's reader does, a base that is not in the store is an IntegrityMismatch.
          const getBase = async (h: string): Promise<Uint8Array> => {
            if (base && h === sha256Hex(base)) return base;
            throw new EngramError('IntegrityMismatch', `chunk ${h} is missing`, { chunk: h, reason: 'missing' });
          };
          const out = await decodeChunk(bad, { expectedHash: hash, getBase });
          // Only a bit the decoder does not depend on (e.g. a zstd window-size hint) may survive.
          assert.ok(Buffer.from(out).equals(Buffer.from(raw)), `byte ${pos} ^ ${flip} returned other bytes`);
        } catch (e) {
          assert.ok(isEngramError(e, 'IntegrityMismatch'), `byte ${pos} ^ ${flip}: ${String(e)}`);
          rejected++;
        }
      }
    }
    assert.ok(rejected >= tried * 0.9, `${rejected} of ${tried} corruptions detected`);
    for (const cut of [0, 5, 15, enc.byteLength - 1]) {
      await assert.rejects(decodeChunk(enc.subarray(0, cut), { expectedHash: hash }), (e) => isEngramError(e, 'IntegrityMismatch'), `cut at ${cut}`);
    }
  }
});

test('a header declaring a huge raw length is refused before anything is allocated', async () => {
  const enc = await encodeChunk(trainedLikeF32(1000, 5), { width: 4 });
  const bad = enc.slice();
  new DataView(bad.buffer).setBigUint64(8, 1n << 40n, true);
  assert.throws(() => readChunkHeader(bad), (e) => isEngramError(e, 'IntegrityMismatch'));
});
