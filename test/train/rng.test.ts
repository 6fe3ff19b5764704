import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { Rng, RNG_ALGORITHM } from '../../src/train/index.ts';

describe('Rng (xoshiro128**)', () => {
  test('matches the reference implementation', () => {
    // From the authors' xoshiro128starstar.c with s = {1, 2, 3, 4}, compiled with gcc and printed
    // with printf("%u\n", next()) six times.
    const r = Rng.fromState({ algorithm: RNG_ALGORITHM, state: [1, 2, 3, 4] });
    assert.deepEqual([0, 1, 2, 3, 4, 5].map(() => r.nextUint32()), [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  test('equal seeds give equal sequences; different seeds differ', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 100 }, () => a.nextUint32());
    assert.deepEqual(Array.from({ length: 100 }, () => b.nextUint32()), xs);
    assert.notDeepEqual(Array.from({ length: 100 }, () => c.nextUint32()), xs);
  });

  test('getState/setState continue exactly where the generator was, for every helper', () => {
    const a = new Rng(7);
    for (let i = 0; i < 37; i++) a.normal();
    const saved = JSON.parse(JSON.stringify(a.getState())) as ReturnType<Rng['getState']>;
    const draw = (r: Rng): unknown[] => [r.uniform(), r.normal(3, 2), r.int(10), r.uniform(-1, 1), r.shuffle([1, 2, 3, 4, 5, 6, 7, 8]), r.nextUint32()];
    const expected = draw(a);
    const b = new Rng(0);
    b.setState(saved);
    assert.deepEqual(draw(b), expected);
    assert.deepEqual(draw(Rng.fromState(saved).clone()), expected);
  });

  test('uniform is in [lo, hi), int in [0, n), normal has the asked moments', () => {
    const r = new Rng(1);
    let sum = 0;
    let sq = 0;
    const n = 20000;
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < n; i++) {
      const u = r.uniform(2, 5);
      assert.ok(u >= 2 && u < 5);
      counts[r.int(7)]!++;
      const g = r.normal(1, 2);
      sum += g;
      sq += (g - 1) ** 2;
    }
    assert.ok(Math.abs(sum / n - 1) < 0.1, `mean ${sum / n}`);
    assert.ok(Math.abs(Math.sqrt(sq / n) - 2) < 0.1, `std ${Math.sqrt(sq / n)}`);
    for (const c of counts) assert.ok(Math.abs(c - n / 7) < n / 7 * 0.1, `int counts ${counts}`);
  });

  test('shuffle permutes in place, typed arrays too', () => {
    const r = new Rng(3);
    const a = Uint32Array.from({ length: 50 }, (_, i) => i);
    const same = r.shuffle(a);
    assert.equal(same, a);
    assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
    assert.notDeepEqual([...a], Array.from({ length: 50 }, (_, i) => i));
  });

  test('refuses states and arguments that cannot be meant', () => {
    const r = new Rng(1);
    for (const bad of [
      { algorithm: 'mulberry32', state: [1, 2, 3, 4] },
      { algorithm: RNG_ALGORITHM, state: [1, 2, 3] },
      { algorithm: RNG_ALGORITHM, state: [0, 0, 0, 0] },
      { algorithm: RNG_ALGORITHM, state: [1, 2, 3, 2 ** 32] },
    ]) assert.throws(() => r.setState(bad), (e) => isEngramError(e, 'InvalidArgument'));
    assert.throws(() => r.int(0), (e) => isEngramError(e, 'InvalidArgument'));
    assert.throws(() => new Rng(Number.NaN), (e) => isEngramError(e, 'InvalidArgument'));
  });
});
