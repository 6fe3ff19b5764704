/**
 * @module Prng: a small seeded generator (sfc32, seeded through splitmix32) so that every workload
 * is the same bytes on every machine and every run, and a Box–Muller fill fast enough to make a
 * gibibyte of normal floats in seconds.
 */

/** A seeded pseudo-random generator. Not cryptographic; deterministic across platforms. */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = mix();
    this.#b = mix();
    this.#c = mix();
    this.#d = mix();
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.#c = (r + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** A uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** One standard normal value. */
  normal(): number {
    const u1 = (this.nextU32() + 1) / 4294967297;
    const u2 = this.nextU32() / 4294967296;
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /**
   * Fills `out` with N(mean, std²) values (Box–Muller, two values per pair of uniforms). With
   * `tail`, about one value in `tail.every` is multiplied by `tail.scale`: trained weights have
   * heavier tails than a Gaussian, and the exponent byte's statistics depend on them.
   */
  fillNormal(out: Float32Array, mean: number, std: number, tail?: { every: number; scale: number }): void {
    const n = out.length;
    const twoPi = 2 * Math.PI;
    const tailMask = tail ? Math.max(1, 2 ** Math.round(Math.log2(tail.every))) - 1 : -1;
    const tailScale = tail?.scale ?? 1;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const r1 = this.nextU32();
      const r2 = this.nextU32();
      const r = Math.sqrt(-2 * Math.log((r1 + 1) / 4294967297)) * std;
      const th = twoPi * (r2 / 4294967296);
      let z0 = r * Math.cos(th);
      let z1 = r * Math.sin(th);
      // The low bits of r1 and r2 choose the rare heavy-tail values; they barely move the normal.
      if (tailMask >= 0) {
        if ((r1 & tailMask) === 0) z0 *= tailScale;
        if ((r2 & tailMask) === 0) z1 *= tailScale;
      }
      out[i] = mean + z0;
      out[i + 1] = mean + z1;
    }
    if (i < n) out[i] = mean + std * this.normal();
  }
}
