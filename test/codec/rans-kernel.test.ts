/**
 * The rANS WebAssembly kernel (src/codec/wasm/rans.c through rans-kernel.ts) against the TypeScript
 * loops it replaces, which stay the reference: on more than a thousand planes — synthetic (every
 * length 0..64, odd lengths, one symbol, two symbols, skewed, uniform over 256 symbols, 4 MiB) and
 * byte planes of real weights (three real training checkpoints and the large safetensors fixture,
 * fp32 and bf16, and XOR deltas between consecutive checkpoints) — both encoders give the same
 * bytes and each decoder reads the other's output; on corrupt payloads (every truncation, bit flips)
 * both decoders give the same IntegrityMismatch, or the same bytes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { ransDecode, ransDecodeWith, ransEncode, ransEncodeWith } from '../../src/codec/rans.ts';
import { KERNEL_MAX_BYTES, KERNEL_MIN_BYTES, ransKernel, ransKernelFor } from '../../src/codec/rans-kernel.ts';
import { coderChecks } from '../helpers/coder-differential.ts';
import { ROOT, eachRealPlane, same, skewed } from '../helpers/weight-planes.ts';
import { drawnBytes, randomBytes, rng } from '../helpers/weights.ts';

const { differential, outcome } = coderChecks({ encode: ransEncodeWith, decode: ransDecodeWith });

/** Both decoders on a corrupt payload: the same IntegrityMismatch, or the same bytes. */
function agree(bad: Uint8Array, n: number, what: string): boolean {
  const a = outcome('js', bad, n);
  const b = outcome('wasm', bad, n);
  assert.equal(b.error, a.error, `${what}: the decoders disagree on the error`);
  if (a.bytes) assert.ok(same(a.bytes, b.bytes!), `${what}: the decoders accept it as different bytes`);
  return a.error !== undefined;
}

test('the kernel runs here, and the public entry points use it from the crossover to the cap', () => {
  assert.ok(ransKernel(), 'this Node must run the rANS kernel (WebAssembly SIMD)');
  assert.equal(ransKernelFor(KERNEL_MIN_BYTES - 1), undefined);
  assert.ok(ransKernelFor(KERNEL_MIN_BYTES));
  assert.ok(ransKernelFor(KERNEL_MAX_BYTES));
  assert.equal(ransKernelFor(KERNEL_MAX_BYTES + 1), undefined);
});

test('synthetic planes: the kernel encodes the same bytes and each side decodes the other', () => {
  let planes = 0;
  for (let n = 0; n <= 64; n++) {
    differential(new Uint8Array(n).fill(n & 255), `${n} × one symbol`);
    differential(drawnBytes(n, n + 1, [1, 1]), `two symbols, ${n} bytes`);
    differential(drawnBytes(n, n + 2, skewed), `skewed, ${n} bytes`);
    differential(randomBytes(n, n + 3), `uniform, ${n} bytes`);
    planes += 4;
  }
  const r = rng(77);
  for (let j = 0; j < 160; j++) {
    // Odd lengths from 65 to ~100 KiB, log-spread, through every kind.
    const n = (Math.floor(65 * 1600 ** r()) | 1) >>> 0;
    const kind = j % 5;
    const p = kind === 0 ? new Uint8Array(n).fill(0x3f)
      : kind === 1 ? drawnBytes(n, j, [3, 1])
      : kind === 2 ? drawnBytes(n, j, skewed)
      : kind === 3 ? randomBytes(n, j)
      : drawnBytes(n, j, [9999, 1]); // a word every ~10^4 symbols: the decoder's runs are short
    differential(p, `kind ${kind}, ${n} bytes`);
    planes++;
  }
  // Random bytes, then zeros that cost almost nothing: the streams run dry long before the symbols.
  const dry = new Uint8Array(1 << 18);
  dry.set(randomBytes(1000, 6));
  differential(dry, 'random then zeros');
  // 4 MiB (grows the kernel's memory), skewed, and a length that is not a multiple of 4.
  differential(drawnBytes(4 << 20, 8, skewed), '4 MiB skewed');
  differential(drawnBytes((1 << 20) + 3, 9, skewed), '1 MiB + 3 skewed');
  planes += 3;
  assert.ok(planes >= 420, `${planes} synthetic planes`);
});

test('real weight planes (fp32, bf16, XOR deltas of consecutive checkpoints): the same bytes both ways', async () => {
  const { planes, bytes } = await eachRealPlane(24, differential);
  assert.ok(planes >= 600, `${planes} real planes, ${bytes} bytes`);
});

test('corrupt payloads: both decoders give the same IntegrityMismatch, never other bytes than each other', () => {
  const cases: [string, Uint8Array][] = [
    ['skewed', drawnBytes(3001, 12, skewed)],
    ['two symbols', drawnBytes(2000, 15, [3, 1])],
    ['one symbol', new Uint8Array(1500).fill(7)],
    ['uniform', randomBytes(1200, 13)],
    ['nearly constant', drawnBytes(1 << 16, 16, [9999, 1])],
    ['small', drawnBytes(9, 17, skewed)],
  ];
  let detected = 0;
  let trials = 0;
  for (const [name, p] of cases) {
    const enc = differential(p, name);
    const n = p.byteLength;
    for (let cut = 0; cut < enc.length; cut += Math.max(1, enc.length >> 8)) {
      assert.ok(agree(enc.subarray(0, cut), n, `${name} cut at ${cut}`), `${name}: a cut at ${cut} is detected`);
    }
    for (const len of [n + 1, n - 1, n + 4]) agree(enc, len, `${name} decoded as ${len} bytes`);
    const r = rng(n);
    for (let j = 0; j < 400; j++) {
      const bad = Uint8Array.from(enc);
      const bit = j < 8 * Math.min(enc.length, 40) ? j : Math.floor(r() * 8 * enc.length);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      if (agree(bad, n, `${name} bit ${bit} flipped`)) detected++;
      trials++;
    }
  }
  assert.ok(detected >= 0.9 * trials, `${detected} of ${trials} flips detected`);
});

test('the kernel decodes into a provided buffer, from a payload at any byte offset, and leaves nothing outside', () => {
  const p = drawnBytes(10007, 21, skewed);
  const enc = ransEncode(p);
  const big = new Uint8Array(p.length + 10).fill(0xee);
  const into = big.subarray(3, 3 + p.length);
  assert.equal(ransDecodeWith('wasm', enc, p.length, into), into);
  assert.ok(same(into, p));
  assert.deepEqual([...big.subarray(0, 3), ...big.subarray(3 + p.length)], new Array(10).fill(0xee));
  for (const shift of [1, 2, 3]) {
    const host = new Uint8Array(enc.length + shift + 1);
    host.set(enc, shift);
    assert.ok(same(ransDecode(host.subarray(shift, shift + enc.length), p.length), p), `payload at offset ${shift}`);
  }
});

test('ENGRAM_KERNELS=js runs the TypeScript loops, with the same bytes, and refuses to force the kernel', () => {
  const script = `
    import { ransDecode, ransEncode, ransEncodeWith } from './src/codec/rans.ts';
    import { ransKernel } from './src/codec/rans-kernel.ts';
    import { createHash } from 'node:crypto';
    const p = new Uint8Array(100003);
    for (let i = 0; i < p.length; i++) p[i] = (Math.imul(i, 2654435761) >>> 29) & (i % 3 ? 1 : 7);
    const enc = ransEncode(p);
    let refused = '';
    try { ransEncodeWith('wasm', p); } catch (e) { refused = e.code; }
    const back = ransDecode(enc, p.length);
    console.log(JSON.stringify({ kernel: ransKernel() !== undefined, refused, hash: createHash('sha256').update(enc).digest('hex'), ok: Buffer.from(back).equals(Buffer.from(p)) }));
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: { ...process.env, ENGRAM_KERNELS: 'js' }, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const got = JSON.parse(child.stdout) as { kernel: boolean; refused: string; hash: string; ok: boolean };
  const p = new Uint8Array(100003);
  for (let i = 0; i < p.length; i++) p[i] = (Math.imul(i, 2654435761) >>> 29) & (i % 3 ? 1 : 7);
  const here = ransEncodeWith('wasm', p);
  assert.deepEqual(got, { kernel: false, refused: 'Unsupported', hash: createHash('sha256').update(here).digest('hex'), ok: true });
});
