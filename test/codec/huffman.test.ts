/**
 * The Huffman plane coder (src/codec/huffman.ts) and its WebAssembly kernel (wasm/huffman.c through
 * huffman-kernel.ts): on more than a thousand planes — synthetic (every length 0..64, odd lengths,
 * one symbol, two symbols, skewed, geometric with codes past the 11-bit limit, uniform over 256
 * symbols, 1 MiB) and byte planes of real weights (three real training checkpoints and the large
 * safetensors fixture, fp32 and bf16, XOR deltas) — both encoders give the same bytes and each
 * decoder reads the other's output; the length-limited code is optimal where the limit does not
 * bind; corrupt payloads (every truncation, bit flips) give the same IntegrityMismatch from both
 * decoders, or the exact plane; and the chunk codec picks Huffman for the exponent plane, rANS
 * where whole-bit codes lose more than 2 %.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { decodeChunk, encodeChunk, sha256Hex } from '../../src/codec/index.ts';
import { huffmanDecode, huffmanDecodeWith, huffmanEncode, huffmanEncodeWith, huffmanEncodeWithin } from '../../src/codec/huffman.ts';
import type { HuffmanLoops } from '../../src/codec/huffman.ts';
import { KERNEL_MAX_BYTES, KERNEL_MIN_BYTES, huffmanKernel, huffmanKernelFor } from '../../src/codec/huffman-kernel.ts';
import { limitedLengths } from '../../src/codec/huffman-lengths.ts';
import { isEngramError } from '../../src/errors/index.ts';
import { coderChecks } from '../helpers/coder-differential.ts';
import { ROOT, eachRealPlane, same, skewed } from '../helpers/weight-planes.ts';
import { drawnBytes, gaussian, randomBytes, rng } from '../helpers/weights.ts';

/** Fibonacci weights: unlimited Huffman codes grow one bit per symbol, far past the 11-bit limit. */
const fibonacci = Array.from({ length: 24 }, (_, i) => i).reduce<number[]>((f, i) => [...f, i < 2 ? 1 : f[i - 1]! + f[i - 2]!], []).reverse();

function decodeWith(loops: HuffmanLoops, payload: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  huffmanDecodeWith(loops, payload, n, out);
  return out;
}

const { differential, outcome } = coderChecks({ encode: huffmanEncodeWith, decode: decodeWith });

/** Both decoders on a corrupt payload: the same IntegrityMismatch, or both exactly `p`. */
function agree(bad: Uint8Array, p: Uint8Array, n: number, what: string): boolean {
  const a = outcome('js', bad, n);
  const b = outcome('wasm', bad, n);
  assert.equal(b.error, a.error, `${what}: the decoders disagree on the error`);
  if (a.bytes) {
    assert.ok(same(a.bytes, p) && same(b.bytes!, p), `${what}: accepted as other bytes than the plane`);
  }
  return a.error !== undefined;
}

/** Total bits of an unlimited optimal prefix code for `counts` (Huffman by repeated merging). */
function huffmanBits(counts: number[]): number {
  const w = counts.filter((c) => c > 0);
  let bits = 0;
  while (w.length > 1) {
    w.sort((a, b) => a - b);
    const s = w.shift()! + w.shift()!;
    bits += s;
    w.push(s);
  }
  return bits;
}

test('the kernel runs here, and the public entry points use it from the crossover to the cap', () => {
  assert.ok(huffmanKernel(), 'this Node must run the Huffman kernel (WebAssembly SIMD)');
  assert.equal(huffmanKernelFor(KERNEL_MIN_BYTES - 1), undefined);
  assert.ok(huffmanKernelFor(KERNEL_MIN_BYTES));
  assert.ok(huffmanKernelFor(KERNEL_MAX_BYTES));
  assert.equal(huffmanKernelFor(KERNEL_MAX_BYTES + 1), undefined);
});

test('code lengths: at most 11 bits, a complete code, and optimal where the limit does not bind', () => {
  const r = rng(3);
  const lengths = new Uint8Array(256);
  let unbound = 0;
  let bound = 0;
  for (let j = 0; j < 300; j++) {
    const k = 2 + Math.floor(r() * 255);
    const counts = new Uint32Array(256);
    const kind = j % 3;
    for (let s = 0; s < k; s++) counts[(s * 37 + j) & 255] = kind === 0 ? 1 + Math.floor(r() * 1000) : kind === 1 ? Math.max(1, Math.floor(1e6 * 0.6 ** s)) : 1 + Math.floor(2 ** (r() * 24));
    const longest = limitedLengths(counts, 11, lengths);
    let kraft = 0;
    let bits = 0;
    for (let s = 0; s < 256; s++) {
      assert.equal(lengths[s]! > 0, counts[s]! > 0, `case ${j}: symbol ${s} has a code iff it occurs`);
      if (lengths[s]) kraft += 2 ** -lengths[s]!;
      bits += counts[s]! * lengths[s]!;
    }
    assert.ok(longest <= 11, `case ${j}: longest code ${longest}`);
    assert.equal(kraft, 1, `case ${j}: Kraft sum`);
    const opt = huffmanBits([...counts]);
    assert.ok(bits >= opt, `case ${j}: ${bits} bits beat the optimum ${opt}`);
    const l12 = new Uint8Array(256);
    if (limitedLengths(counts, 16, l12) <= 11) {
      assert.equal(bits, opt, `case ${j}: the limit did not bind, so the code is optimal`);
      unbound++;
    } else {
      bound++;
    }
  }
  assert.ok(unbound >= 30 && bound >= 30, `${unbound} cases where the limit did not bind, ${bound} where it did`);
});

test('synthetic planes: the kernel encodes the same bytes and each side decodes the other', () => {
  let planes = 0;
  for (let n = 0; n <= 64; n++) {
    differential(new Uint8Array(n).fill(n & 255), `${n} × one symbol`);
    differential(drawnBytes(n, n + 1, [1, 1]), `two symbols, ${n} bytes`);
    differential(drawnBytes(n, n + 2, skewed), `skewed, ${n} bytes`);
    differential(randomBytes(n, n + 3), `uniform, ${n} bytes`);
    differential(drawnBytes(n, n + 4, fibonacci), `fibonacci, ${n} bytes`);
    planes += 5;
  }
  const r = rng(77);
  for (let j = 0; j < 300; j++) {
    // Odd lengths from 65 to ~100 KiB, log-spread, through every kind.
    const n = (Math.floor(65 * 1600 ** r()) | 1) >>> 0;
    const kind = j % 6;
    const p = kind === 0 ? new Uint8Array(n).fill(0x3f)
      : kind === 1 ? drawnBytes(n, j, [3, 1])
      : kind === 2 ? drawnBytes(n, j, skewed)
      : kind === 3 ? randomBytes(n, j)
      : kind === 4 ? drawnBytes(n, j, fibonacci)
      : drawnBytes(n, j, [9999, 1]);
    differential(p, `kind ${kind}, ${n} bytes`);
    planes++;
  }
  // Every symbol once, then skewed; 1 MiB (grows the kernel's memory) and 1 MiB + 3.
  const all = new Uint8Array(70000);
  for (let s = 0; s < 256; s++) all[s] = s;
  all.set(drawnBytes(all.length - 256, 5, fibonacci), 256);
  differential(all, 'all 256 symbols, fibonacci');
  differential(drawnBytes(1 << 20, 8, skewed), '1 MiB skewed');
  differential(drawnBytes((1 << 20) + 3, 9, fibonacci), '1 MiB + 3 fibonacci');
  planes += 3;
  assert.ok(planes >= 620, `${planes} synthetic planes`);
});

test('real weight planes (fp32, bf16, XOR deltas of consecutive checkpoints): the same bytes both ways', async () => {
  const { planes, bytes } = await eachRealPlane(16, differential);
  assert.ok(planes >= 400, `${planes} real planes, ${bytes} bytes`);
});

test('the exact size is known before coding: huffmanEncodeWithin refuses one byte less', () => {
  for (const [name, p] of [['skewed', drawnBytes(50001, 1, skewed)], ['one symbol', new Uint8Array(999).fill(4)], ['uniform', randomBytes(4099, 2)]] as const) {
    const enc = huffmanEncode(p);
    assert.equal(huffmanEncodeWithin(p, enc.byteLength - 1), undefined, name);
    assert.ok(same(huffmanEncodeWithin(p, enc.byteLength)!, enc), name);
  }
  // A single-symbol plane is its header: format, bitmap, one length nibble, check, stream lengths.
  assert.equal(huffmanEncode(new Uint8Array(1 << 16).fill(9)).byteLength, 1 + 32 + 1 + 4 + 12);
  assert.deepEqual([...huffmanEncode(new Uint8Array(0))], [0]);
});

test('corrupt payloads: both decoders give the same IntegrityMismatch, or the exact plane', () => {
  const cases: [string, Uint8Array][] = [
    ['skewed', drawnBytes(3001, 12, skewed)],
    ['two symbols', drawnBytes(2000, 15, [3, 1])],
    ['one symbol', new Uint8Array(1500).fill(7)],
    ['uniform', randomBytes(1200, 13)],
    ['fibonacci', drawnBytes(4000, 14, fibonacci)],
    ['nearly constant', drawnBytes(1 << 16, 16, [9999, 1])],
    ['small', drawnBytes(9, 17, skewed)],
  ];
  let detected = 0;
  let trials = 0;
  for (const [name, p] of cases) {
    const enc = differential(p, name);
    const n = p.byteLength;
    for (let cut = 0; cut < enc.length; cut += Math.max(1, enc.length >> 9)) {
      assert.ok(agree(enc.subarray(0, cut), p, n, `${name} cut at ${cut}`), `${name}: a cut at ${cut} is detected`);
    }
    const longer = new Uint8Array(enc.length + 1);
    longer.set(enc);
    assert.ok(agree(longer, p, n, `${name} with a trailing byte`), `${name}: a trailing byte is detected`);
    for (const len of [n + 1, n - 1, n + 4]) if (len >= 0) assert.ok(agree(enc, p.subarray(0, 0), len, `${name} decoded as ${len} bytes`));
    const r = rng(n);
    for (let j = 0; j < 400; j++) {
      const bad = Uint8Array.from(enc);
      const bit = j < 8 * Math.min(enc.length, 40) ? j : Math.floor(r() * 8 * enc.length);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      if (agree(bad, p, n, `${name} bit ${bit} flipped`)) detected++;
      trials++;
      // And a random byte, anywhere.
      const worse = Uint8Array.from(enc);
      worse[Math.floor(r() * enc.length)] = Math.floor(r() * 256);
      agree(worse, p, n, `${name} byte replaced`);
    }
  }
  assert.ok(detected >= 0.99 * trials, `${detected} of ${trials} flips detected`);
});

test('decodes into a provided buffer, from a payload at any byte offset, and leaves nothing outside', () => {
  const p = drawnBytes(10007, 21, skewed);
  const enc = huffmanEncode(p);
  for (const loops of ['js', 'wasm'] as const) {
    const big = new Uint8Array(p.length + 10).fill(0xee);
    const into = big.subarray(3, 3 + p.length);
    huffmanDecodeWith(loops, enc, p.length, into);
    assert.ok(same(into, p));
    assert.deepEqual([...big.subarray(0, 3), ...big.subarray(3 + p.length)], new Array(10).fill(0xee));
    for (const shift of [1, 2, 3]) {
      const host = new Uint8Array(enc.length + shift + 1);
      host.set(enc, shift);
      assert.ok(same(decodeWith(loops, host.subarray(shift, shift + enc.length), p.length), p), `${loops}: payload at offset ${shift}`);
      // An unaligned plane: the encoder's check reads it bytewise.
      const plane = new Uint8Array(p.length + shift);
      plane.set(p, shift);
      assert.ok(same(huffmanEncodeWith(loops, plane.subarray(shift)), enc), `${loops}: plane at offset ${shift}`);
    }
  }
  assert.throws(() => huffmanDecode(enc, p.length, new Uint8Array(p.length - 1)), (e) => isEngramError(e, 'InvalidArgument'));
});

test('ENGRAM_KERNELS=js runs the TypeScript loops, with the same bytes, and refuses to force the kernel', () => {
  const script = `
    import { huffmanDecode, huffmanEncode, huffmanEncodeWith } from './src/codec/huffman.ts';
    import { huffmanKernel } from './src/codec/huffman-kernel.ts';
    import { createHash } from 'node:crypto';
    const p = new Uint8Array(100003);
    for (let i = 0; i < p.length; i++) p[i] = (Math.imul(i, 2654435761) >>> 29) & (i % 3 ? 1 : 7);
    const enc = huffmanEncode(p);
    let refused = '';
    try { huffmanEncodeWith('wasm', p); } catch (e) { refused = e.code; }
    const back = new Uint8Array(p.length);
    huffmanDecode(enc, p.length, back);
    console.log(JSON.stringify({ kernel: huffmanKernel() !== undefined, refused, hash: createHash('sha256').update(enc).digest('hex'), ok: Buffer.from(back).equals(Buffer.from(p)) }));
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: { ...process.env, ENGRAM_KERNELS: 'js' }, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const got = JSON.parse(child.stdout) as { kernel: boolean; refused: string; hash: string; ok: boolean };
  const p = new Uint8Array(100003);
  for (let i = 0; i < p.length; i++) p[i] = (Math.imul(i, 2654435761) >>> 29) & (i % 3 ? 1 : 7);
  const here = huffmanEncodeWith('wasm', p);
  assert.deepEqual(got, { kernel: false, refused: 'Unsupported', hash: createHash('sha256').update(here).digest('hex'), ok: true });
});

/** The codec byte of each plane of a per-plane chunk object. */
function planeCodecs(chunk: Uint8Array): number[] {
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const codecs: number[] = [];
  let at = 17;
  for (let p = 0; p < chunk[16]!; p++) {
    codecs.push(chunk[at]!);
    at += 5 + view.getUint32(at + 1, true);
  }
  assert.equal(at, chunk.byteLength, 'the plane table covers the object');
  return codecs;
}

test('the chunk codec codes the exponent plane with Huffman (3), and with rANS (2) where whole bits lose > 2 %', async () => {
  // Gaussian fp32 weights: planes 0–2 near random (raw), plane 3 the exponent.
  const raw = new Uint8Array(gaussian(1 << 18, 4).buffer);
  const enc = await encodeChunk(raw, { width: 4 });
  assert.deepEqual(planeCodecs(enc), [0, 0, 0, 3]);
  assert.ok(same(await decodeChunk(enc, { expectedHash: sha256Hex(raw) }), raw));
  // A 90/10 plane: entropy 0.47 bit, Huffman 1 bit per symbol; rANS keeps it.
  const skew = drawnBytes(1 << 17, 3, [9, 1]);
  const pairs = new Uint8Array(2 * skew.length);
  for (let i = 0; i < skew.length; i++) pairs[2 * i + 1] = skew[i]!;
  const enc2 = await encodeChunk(pairs, { width: 2 });
  assert.deepEqual(planeCodecs(enc2), [3, 2], "the all-zero plane is a bare Huffman header, the 90/10 plane rANS");
  assert.ok(same(await decodeChunk(enc2, { expectedHash: sha256Hex(pairs) }), pairs));
});
