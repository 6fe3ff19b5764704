/**
 * @module A seedable random generator whose whole state can be saved and restored, so a training
 * loop that draws its initialisation, dropout masks and data order from it continues, after a
 * resume, with exactly the numbers it would have drawn. The algorithm is xoshiro128** (Blackman and
 * Vigna): four 32-bit words of state, 32-bit integer arithmetic only (so every JavaScript engine
 * gives the same sequence), period 2^128 − 1.
 */
import { EngramError } from '../errors/index.ts';

/** The algorithm name {@link Rng} records in its state. */
export const RNG_ALGORITHM = 'xoshiro128**';

/**
 * The saved state of a random generator: an algorithm name and its state words. {@link Rng} uses
 * four unsigned 32-bit words; other generators may store theirs the same way.
 */
export interface RngState {
  readonly algorithm: string;
  readonly state: readonly number[];
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/**
 * A seeded xoshiro128** generator.
 *
 * It keeps no hidden state besides its four words — `normal()` does not cache the second
 * Box–Muller value — so `getState()` after any call captures everything the next draw depends on.
 *
 * @example
 * const rng = new Rng(42);
 * const order = rng.shuffle([...Array(1000).keys()]);
 * const saved = rng.getState();            // store it with the checkpoint
 * const again = Rng.fromState(saved);      // after a resume: the same next numbers
 */
export class Rng {
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;

  /** Seeds the generator: equal seeds give equal sequences. The seed is taken modulo 2^32. */
  constructor(seed = 0) {
    this.seed(seed);
  }

  /** A generator continuing from a saved state. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  /** Re-seeds in place. The four state words come from SplitMix32 of the seed, as the authors advise. */
  seed(seed: number): void {
    if (!Number.isFinite(seed)) throw new EngramError('InvalidArgument', `an Rng seed must be a finite number, got ${seed}`, { seed });
    let x = Math.trunc(seed) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#s0 = next();
    this.#s1 = next();
    this.#s2 = next();
    this.#s3 = next();
    // The all-zero state is the one state xoshiro never leaves.
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.#s1 << 9) >>> 0;
    this.#s2 = (this.#s2 ^ this.#s0) >>> 0;
    this.#s3 = (this.#s3 ^ this.#s1) >>> 0;
    this.#s1 = (this.#s1 ^ this.#s2) >>> 0;
    this.#s0 = (this.#s0 ^ this.#s3) >>> 0;
    this.#s2 = (this.#s2 ^ t) >>> 0;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** A uniform number in [lo, hi) (default [0, 1)), with 53 random bits. */
  uniform(lo = 0, hi = 1): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    const u = (a * 67108864 + b) / 9007199254740992;
    return lo + (hi - lo) * u;
  }

  /** A uniform integer in [0, n), without modulo bias (n ≤ 2^32). */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0 || n > 2 ** 32) throw new EngramError('InvalidArgument', `Rng.int needs an integer in 1..2^32, got ${n}`, { n });
    // Reject the top partial interval so every value is equally likely.
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** A normal (gaussian) number with the given mean and standard deviation (Box–Muller). */
  normal(mean = 0, std = 1): number {
    const u = 1 - this.uniform(); // (0, 1]: log stays finite
    const v = this.uniform();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles `array` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** The generator's whole state, as plain JSON. */
  getState(): RngState {
    return { algorithm: RNG_ALGORITHM, state: [this.#s0, this.#s1, this.#s2, this.#s3] };
  }

  /** Continues from a state {@link getState} returned; `InvalidArgument` for anything else. */
  setState(state: RngState): void {
    const words = state?.state;
    if (state?.algorithm !== RNG_ALGORITHM || !Array.isArray(words) || words.length !== 4
      || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff) || words.every((w) => w === 0)) {
      throw new EngramError('InvalidArgument', `not an ${RNG_ALGORITHM} state: ${JSON.stringify(state)?.slice(0, 200)}`, { algorithm: state?.algorithm });
    }
    [this.#s0, this.#s1, this.#s2, this.#s3] = words as [number, number, number, number];
  }

  /** An independent copy at the same point of the sequence. */
  clone(): Rng {
    return Rng.fromState(this.getState());
  }
}
