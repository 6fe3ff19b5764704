import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { DEFAULT_CDC, GEAR, fastcdcBoundaries } from '../../src/codec/index.ts';

/** Deterministic pseudo-random bytes (an LCG's top byte). */
function prng(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

const SMALL = { minSize: 8192, avgSize: 32768, maxSize: 131072 };

test('the gear table and the boundaries are pinned: they are part of the storage format', () => {
  assert.deepEqual([GEAR[0], GEAR[1], GEAR[255]], [484853205, 2054706132, 2643147351]);
  const d = prng(4 << 20, 7);
  assert.deepEqual(fastcdcBoundaries(d, SMALL).slice(0, 8), [95711, 145704, 174877, 214740, 236354, 261067, 294138, 305237]);
  assert.deepEqual(fastcdcBoundaries(d), [305237, 436656, 597662, 892030, 1091326, 1357392, 1621783, 1972895, 2241953, 2531863, 2808534, 3192673, 3395018, 3772977, 4056272, 4194304]);
});

test('chunks respect min and max sizes, and the boundaries cover the data exactly', () => {
  for (const seed of [1, 2, 3]) {
    const d = prng(3 << 20, seed);
    const ends = fastcdcBoundaries(d, SMALL);
    let prev = 0;
    for (const [i, end] of ends.entries()) {
      const len = end - prev;
      assert.ok(len <= SMALL.maxSize, `chunk ${i} is ${len} bytes`);
      if (i < ends.length - 1) assert.ok(len >= SMALL.minSize, `chunk ${i} is ${len} bytes`);
      prev = end;
    }
    assert.equal(prev, d.byteLength);
  }
});

test('runs of identical bytes are cut at max size', () => {
  const ends = fastcdcBoundaries(new Uint8Array(1_000_000), SMALL);
  assert.deepEqual(ends.slice(0, 3), [131072, 262144, 393216]);
  assert.equal(ends.at(-1), 1_000_000);
});

test('empty and tiny inputs', () => {
  assert.deepEqual(fastcdcBoundaries(new Uint8Array(0)), []);
  assert.deepEqual(fastcdcBoundaries(new Uint8Array(100)), [100]);
});

test('an insertion near the start moves only nearby boundaries: later chunks are unchanged', () => {
  const d = prng(2 << 20, 11);
  const inserted = new Uint8Array(d.byteLength + 100);
  inserted.set(d.subarray(0, 50_000));
  inserted.set(prng(100, 99), 50_000);
  inserted.set(d.subarray(50_000), 50_100);
  const a = fastcdcBoundaries(d, SMALL);
  const b = new Set(fastcdcBoundaries(inserted, SMALL).map((e) => e - 100));
  const kept = a.filter((e) => e > 200_000 && b.has(e)).length;
  const later = a.filter((e) => e > 200_000).length;
  assert.ok(later > 10);
  assert.equal(kept, later, 'every boundary well after the insertion survives it');
});

test('invalid sizes are an InvalidArgument', () => {
  assert.throws(() => fastcdcBoundaries(new Uint8Array(10), { minSize: 10, avgSize: 5, maxSize: 20 }), (e) => isEngramError(e, 'InvalidArgument'));
  assert.equal(DEFAULT_CDC.avgSize, 256 * 1024);
});
