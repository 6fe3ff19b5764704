import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { ransDecode, ransEncode } from '../../src/codec/rans.ts';
import { drawnBytes, gaussian, randomBytes, rng } from '../helpers/weights.ts';

/** Byte `k` of every little-endian float32 of `f`. */
function plane(f: Float32Array, k: number): Uint8Array {
  const bytes = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  const out = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = bytes[4 * i + k]!;
  return out;
}

/** Order-0 entropy in bits per byte. */
function entropy(p: Uint8Array): number {
  const c = new Float64Array(256);
  for (const b of p) c[b]!++;
  let h = 0;
  for (const x of c) if (x > 0) h -= (x / p.length) * Math.log2(x / p.length);
  return h;
}

function roundTrip(p: Uint8Array, what: string): Uint8Array {
  const enc = ransEncode(p);
  const dec = ransDecode(enc, p.byteLength);
  assert.equal(dec.byteLength, p.byteLength, what);
  assert.ok(Buffer.from(dec).equals(Buffer.from(p)), `${what}: decoded bytes differ`);
  return enc;
}

/** Runs `fn`; returns 'ok' or 'detected', and fails the test on any error that is not IntegrityMismatch. */
function outcome(fn: () => unknown): 'ok' | 'detected' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (isEngramError(e, 'IntegrityMismatch')) {
      assert.match(e.message, /^rANS payload is corrupt: /);
      assert.equal(typeof e.data.reason, 'string');
      return 'detected';
    }
    throw e;
  }
}

const skewed = [500, 200, 120, 80, 40, 25, 15, 10, 5, 3, 1, 1];

test('round trips: empty, one byte, seven bytes, one repeated byte, all 256 symbols', () => {
  assert.deepEqual([...ransEncode(new Uint8Array(0))], [0]);
  assert.equal(ransDecode(new Uint8Array([0]), 0).byteLength, 0);
  roundTrip(new Uint8Array([0]), 'one zero byte');
  roundTrip(new Uint8Array([255]), 'one 0xff byte');
  roundTrip(new Uint8Array([3, 1, 4, 1, 5, 9, 2]), 'seven bytes');
  for (const n of [1, 2, 3, 4, 5, 1000, 1000003]) {
    const enc = roundTrip(new Uint8Array(n).fill(0x3c), `${n} × 0x3c`);
    // One symbol costs nothing: the table (its frequency is 2^scale, a 2-byte varint), four states
    // and three empty stream lengths.
    assert.equal(enc.byteLength, 2 + 32 + 2 + 16 + 3, `${n} × 0x3c`);
  }
  const all = new Uint8Array(256 * 64);
  for (let i = 0; i < all.length; i++) all[i] = i & 255;
  roundTrip(all, 'all 256 symbols, uniform');
  roundTrip(all.subarray(0, 256), 'each symbol once');
  roundTrip(all.subarray(0, 255), 'symbols 0..254 once');
});

test('round trips: skewed, random and odd lengths, including every length 0..64', () => {
  for (let n = 0; n <= 64; n++) {
    roundTrip(drawnBytes(n, n + 1, skewed), `skewed, ${n} bytes`);
    roundTrip(randomBytes(n, n + 100), `random, ${n} bytes`);
    roundTrip(drawnBytes(n, n + 200, [1, 1]), `two symbols, ${n} bytes`);
  }
  for (const n of [255, 256, 257, 4095, 4097, 65537, 100003]) {
    roundTrip(drawnBytes(n, n, skewed), `skewed, ${n} bytes`);
    roundTrip(randomBytes(n, n), `random, ${n} bytes`);
  }
  // One symbol at p ≈ 0.9999: a word every ~10^4 symbols, so the decoder's runs are short.
  roundTrip(drawnBytes(1 << 20, 5, [9999, 1]), 'nearly constant');
  // Random bytes, then zeros that cost almost nothing: the streams run dry long before the symbols.
  const dry = new Uint8Array(1 << 18);
  dry.set(randomBytes(1000, 6));
  roundTrip(dry, 'random then zeros');
});

test('a 1 MiB exponent plane of trained weights codes to within 300 bytes of its entropy', () => {
  const weights = gaussian(1 << 20, 1, 0.02);
  const p = plane(weights, 3);
  const h = entropy(p);
  const enc3 = roundTrip(p, 'plane 3');
  assert.ok(enc3.byteLength <= (h / 8) * p.length + 300, `plane 3: ${enc3.byteLength} bytes for entropy ${h.toFixed(4)} bits/byte`);
  // Plane 2 uses all 256 symbols; its table costs ~1 byte per symbol more.
  const p2 = plane(weights, 2);
  const h2 = entropy(p2);
  const enc2 = roundTrip(p2, 'plane 2');
  assert.ok(enc2.byteLength <= (h2 / 8) * p2.length + 300 + 256, `plane 2: ${enc2.byteLength} bytes for entropy ${h2.toFixed(4)} bits/byte`);
  const random = randomBytes(1 << 20, 9);
  const enc = roundTrip(random, 'random');
  assert.ok(enc.byteLength <= random.length * 1.004, 'near-random planes cost little more than raw');
});

test('decodes into a provided buffer, and from a payload at any byte offset', () => {
  const p = plane(gaussian(10007, 2), 3);
  const enc = ransEncode(p);
  const big = new Uint8Array(p.length + 10).fill(0xee);
  const into = big.subarray(3, 3 + p.length);
  const back = ransDecode(enc, p.length, into);
  assert.equal(back, into);
  assert.ok(Buffer.from(into).equals(Buffer.from(p)));
  assert.deepEqual([...big.subarray(0, 3), ...big.subarray(3 + p.length)], new Array(10).fill(0xee), 'nothing written outside');
  for (const shift of [1, 2, 3]) {
    const host = new Uint8Array(enc.length + shift + 1);
    host.set(enc, shift);
    const dec = ransDecode(host.subarray(shift, shift + enc.length), p.length);
    assert.ok(Buffer.from(dec).equals(Buffer.from(p)), `payload at offset ${shift}`);
  }
});

test('misuse is InvalidArgument, not corruption', () => {
  const enc = ransEncode(new Uint8Array([1, 2, 3]));
  for (const [len, into] of [[-1, undefined], [1.5, undefined], [2 ** 31, undefined], [3, new Uint8Array(4)]] as const) {
    assert.throws(() => ransDecode(enc, len, into), (e: unknown) => isEngramError(e, 'InvalidArgument'));
  }
});

test('the payload format is pinned: it is part of the storage format', () => {
  const enc = ransEncode(new TextEncoder().encode('abracadabra'.repeat(4)));
  assert.equal(
    Buffer.from(enc).toString('hex'),
    '0804' + // scale 8, k − 1 = 4
      '000000000000000000000000' + '1e0004' + '0000000000000000000000000000000000' + // bitmap: a–d, r
      '742f17172f' + // frequencies 116 47 23 23 47, summing to 256
      '4b832b0075b52b00da972b0032842b00' + // the four states
      '010101' + // stream lengths 1, 1, 1 (words)
      '90b0bfb636478739', // streams 0, 1, 2 and 3 (one word each)
  );
  const p = plane(gaussian(1 << 16, 3), 3);
  assert.equal(createHash('sha256').update(ransEncode(p)).digest('hex').slice(0, 16), 'dc66c7bb5a556253');
});

test('truncation at every length is detected', () => {
  const p = drawnBytes(300, 11, skewed);
  const enc = ransEncode(p);
  for (let cut = 0; cut < enc.length; cut++) {
    assert.equal(outcome(() => ransDecode(enc.subarray(0, cut), p.length)), 'detected', `cut at ${cut} of ${enc.length}`);
  }
  // Trailing garbage, and a wrong length, are corruption too.
  const longer = new Uint8Array(enc.length + 2);
  longer.set(enc);
  assert.equal(outcome(() => ransDecode(longer, p.length)), 'detected', 'two trailing bytes');
  assert.equal(outcome(() => ransDecode(enc, p.length + 1)), 'detected', 'one byte too many asked');
  assert.equal(outcome(() => ransDecode(enc, p.length - 1)), 'detected', 'one byte too few asked');
  assert.equal(outcome(() => ransDecode(enc, 0)), 'detected', 'an empty plane asked');
  assert.equal(outcome(() => ransDecode(new Uint8Array([0]), 5)), 'detected', 'an empty payload for 5 bytes');
});

/** Flips every bit of `ransEncode(p)` in turn; returns how many flips were detected and how many decoded to other bytes. */
function flipAll(p: Uint8Array): { flips: number; detected: number; silent: number } {
  const enc = ransEncode(p);
  let detected = 0;
  let silent = 0;
  for (let bit = 0; bit < enc.length * 8; bit++) {
    const bad = Uint8Array.from(enc);
    bad[bit >> 3]! ^= 1 << (bit & 7);
    let dec: Uint8Array | undefined;
    if (outcome(() => (dec = ransDecode(bad, p.length))) === 'detected') detected++;
    else if (!Buffer.from(dec!).equals(Buffer.from(p))) silent++;
  }
  return { flips: enc.length * 8, detected, silent };
}

test('single-bit flips are detected (≥ 95%), and nothing but IntegrityMismatch is ever thrown', () => {
  for (const [name, p] of [
    ['skewed', drawnBytes(400, 12, skewed)],
    ['exponent plane', plane(gaussian(600, 4), 3)],
    ['two symbols', drawnBytes(300, 15, [3, 1])],
    ['one symbol', new Uint8Array(50).fill(7)],
  ] as const) {
    const { flips, detected, silent } = flipAll(p);
    assert.ok(detected >= 0.95 * flips, `${name}: ${detected} of ${flips} flips detected, ${silent} decoded to other bytes`);
  }
});

test('near-random planes: most flips are detected; the rest cannot be, as their code is nearly a bijection', () => {
  // With every frequency near 2^scale/256, a stream bit flipped is just another valid message: only
  // the caller's hash can tell. The codec never gives rANS such planes (it stores them raw).
  const { flips, detected, silent } = flipAll(randomBytes(200, 13));
  assert.ok(detected >= 0.8 * flips, `${detected} of ${flips} flips detected, ${silent} decoded to other bytes`);
});

test('the final-state check catches a damaged state or word', () => {
  const p = drawnBytes(5000, 14, skewed);
  const enc = ransEncode(p);
  // Skip the table to the states, then flip the lowest bit of each state, and one of the last word.
  const k = enc[1]! + 1;
  let at = 34;
  for (let s = 0; s < k; s++) while (enc[at++]! >= 0x80);
  for (let w = 0; w < 4; w++) {
    const bad = Uint8Array.from(enc);
    bad[at + 4 * w]! ^= 1;
    assert.throws(() => ransDecode(bad, p.length), (e: unknown) => isEngramError(e, 'IntegrityMismatch'), `state ${w}`);
  }
  const bad = Uint8Array.from(enc);
  bad[bad.length - 1]! ^= 0x10;
  assert.throws(() => ransDecode(bad, p.length), (e: unknown) => isEngramError(e, 'IntegrityMismatch'), 'last word');
});

test('a payload claiming a huge table or huge lengths throws without allocating', () => {
  const bitmap = (...symbols: number[]) => {
    const b = new Array<number>(32).fill(0);
    for (const s of symbols) b[s >> 3]! |= 1 << (s & 7);
    return b;
  };
  const all = new Array<number>(32).fill(0xff);
  // A valid table (scale 8; symbols 0 and 1 at 128 each) and four states at L = 2^15.
  const twoSymbols = [0x08, 1, ...bitmap(0, 1), 0x80, 0x01, 0x80, 0x01];
  const stateL = [0x00, 0x80, 0x00, 0x00];
  const table = [...twoSymbols, ...stateL, ...stateL, ...stateL, ...stateL];
  const cases: [string, RegExp, number[]][] = [
    ['256 symbols with 4-byte frequencies', /varint longer than 3 bytes/, [0x0d, 255, ...all, 0xff, 0xff, 0xff, 0x7f]],
    ['a frequency above the total', /outside 1\.\.8192/, [0x0d, 0, ...bitmap(9), 0xff, 0xff, 0x01]],
    ['a frequency of zero', /outside 1\.\./, [0x0d, 0, ...bitmap(9), 0x00]],
    ['an overlong frequency varint', /overlong/, [0x0d, 0, ...bitmap(9), 0x80, 0x80, 0x00]],
    ['a reserved format bit', /format byte/, [0x1d, 0, ...bitmap(9)]],
    ['a scale below 8', /format byte/, [0x07, 0, ...bitmap(9)]],
    ['a bitmap with more symbols than declared', /more than the 6/, [0x08, 5, ...all, ...new Array<number>(256).fill(1)]],
    ['a bitmap with fewer symbols than declared', /2 symbols, 6 declared/, [0x08, 5, ...bitmap(0, 1), 0x80, 0x01, 0x80, 0x01]],
    ['frequencies not summing to the total', /sum to 200, expected 256/, [0x08, 1, ...bitmap(0, 1), 100, 100]],
    ['a state out of range', /initial state 4294967295/, [...twoSymbols, 0xff, 0xff, 0xff, 0xff, ...stateL, ...stateL, ...stateL, 0, 0, 0]],
    ['a stream of 2^34 words', /longer than .* symbols can need/, [...table, 0x80, 0x80, 0x80, 0x80, 0x40, 0, 0]],
    ['a stream-length varint of 6 bytes', /longer than 5 bytes/, [...table, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0]],
    ['a stream longer than the payload', /runs past the end of the payload/, [...table, 100, 0, 0, 1, 2]],
    ['an odd last stream', /odd number of bytes/, [...table, 0, 0, 0, 1, 2, 3]],
  ];
  const before = process.memoryUsage().arrayBuffers;
  for (const [name, reason, bytes] of cases) {
    // 2^30 bytes asked for: an output allocated before the header is validated would show below.
    assert.throws(() => ransDecode(Uint8Array.from(bytes), 1 << 30), (e: unknown) => isEngramError(e, 'IntegrityMismatch') && reason.test(e.message), name);
  }
  assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 24, 'no output buffer was allocated');
  // A well-formed header whose streams are empty: the first state to fall below L finds no word.
  assert.throws(() => ransDecode(Uint8Array.from([...table, 0, 0, 0]), 1), (e: unknown) => isEngramError(e, 'IntegrityMismatch') && /runs past its end/.test(e.message));
});
