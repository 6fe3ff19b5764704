/**
 * Differential tests of the codec's byte kernels (src/codec/wasm/byte-group.c, delta.c,
 * plane-histogram.c) against the TypeScript reference they replace: every kernel function called
 * directly on every length from 0 up (the public functions only use a kernel above
 * KERNEL_MIN_BYTES), the public dispatching functions on unaligned views, and whole chunks
 * encoded in this process and in a child with ENGRAM_KERNELS=js, which must be the same bytes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeChunk, encodeChunk, sha256Hex } from '../../src/codec/index.ts';
import { groupBytes, groupBytesJs, groupBytesStats, planeRanges, ungroupBytes, ungroupBytesJs, KERNEL_MIN_BYTES } from '../../src/codec/byte-group.ts';
import { applyDelta, applyDeltaGrouped, applyDeltaJs, deltaKind, undoDelta, undoDeltaGrouped, undoDeltaJs } from '../../src/codec/delta-transform.ts';
import { planeStats } from '../../src/codec/plane-stats.ts';
import { loadKernel, type WasmKernel } from '../../src/codec/wasm/index.ts';
import { checkpointF32, highHalves, kernelChunks, safetensorsF32 } from '../helpers/kernel-chunks.ts';
import { randomBytes } from '../helpers/weights.ts';

// This file compares the kernels with the reference, so it runs them even when the suite is run
// with ENGRAM_KERNELS=js (which the child process of the last test sets for itself).
delete process.env.ENGRAM_KERNELS;

const c50 = checkpointF32(50), c100 = checkpointF32(100);
const st = safetensorsF32();

/** Contents of length `n`: the extremes, random bytes and real weights at a length-dependent offset. */
function contents(n: number, seed: number): [string, Uint8Array, Uint8Array][] {
  const off = (seed * 4099) % (c50.byteLength - n - 8 > 0 ? c50.byteLength - n - 8 : 1);
  const sOff = (seed * 7919) % (st.byteLength - n);
  return [
    ['zero', new Uint8Array(n), new Uint8Array(n)],
    ['equal', new Uint8Array(n).fill(0xbd), new Uint8Array(n).fill(0xbd)],
    ['random', randomBytes(n, seed), randomBytes(n, seed + 1)],
    ['ckpt', c100.slice(off, off + n), c50.slice(off, off + n)],
    ['safetensors', st.slice(sOff, sOff + n), c50.slice(off + 1, off + 1 + n)],
  ];
}

const LENGTHS = [0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 128, 129, 255, 257, 1000, 1023, 4095, 4097, 8191, 12_289, 65_537];
const WIDTHS = [1, 2, 3, 4, 5, 7, 8, 16];

/** Calls kernel function `name(a, [b,] out, length, width[, sub])` on copies in the kernel's memory. */
function call(k: WasmKernel, name: string, inputs: Uint8Array[], n: number, width: number, sub?: number): Uint8Array {
  const mem = k.reserve(16 + (inputs.length + 1) * (n + 16));
  const at = inputs.map((_, i) => k.heapBase + 16 + i * (n + 16));
  inputs.forEach((x, i) => mem.set(x, at[i]!));
  const out = k.heapBase + 16 + inputs.length * (n + 16);
  mem.fill(0xee, out, out + n);
  const args = sub === undefined ? [...at, out, n, width] : [...at, out, n, width, sub];
  k.fn[name]!(...args);
  return mem.slice(out, out + n);
}

test('the grouping kernel equals groupBytesJs and ungroupBytesJs for every width, length and content', () => {
  const k = loadKernel('byte-group');
  assert.ok(k, 'this Node must run WebAssembly SIMD');
  let cases = 0;
  for (const width of WIDTHS) {
    for (const n of LENGTHS) {
      for (const [label, data] of contents(n, n + width)) {
        const expected = groupBytesJs(data, width);
        assert.deepEqual(call(k, 'group_bytes', [data], n, width), expected, `group ${label} width ${width} length ${n}`);
        assert.deepEqual(call(k, 'ungroup_bytes', [expected], n, width), ungroupBytesJs(expected, width), `ungroup ${label} width ${width} length ${n}`);
        assert.deepEqual(call(k, 'ungroup_bytes', [data], n, width), ungroupBytesJs(data, width), `ungroup of ungrouped ${label} width ${width} length ${n}`);
        cases += 3;
      }
    }
  }
  assert.ok(cases >= 1000, `${cases} cases`);
});

test('the delta kernels equal applyDeltaJs / undoDeltaJs, and the fused kernels equal delta-then-group and ungroup-then-undo', () => {
  const k = loadKernel('delta');
  assert.ok(k, 'this Node must run WebAssembly SIMD');
  let cases = 0;
  for (const width of WIDTHS) {
    const sub = deltaKind(width) === 'sub' ? 1 : 0;
    for (const n of LENGTHS) {
      for (const [label, raw, base] of contents(n, 3 * n + width)) {
        const what = `${label} width ${width} length ${n}`;
        const delta = applyDeltaJs(raw, base, width, new Uint8Array(n));
        assert.deepEqual(call(k, 'apply_delta', [raw, base], n, width, sub), delta, `apply ${what}`);
        assert.deepEqual(call(k, 'undo_delta', [delta, base], n, width, sub), raw, `undo ${what}`);
        assert.deepEqual(undoDeltaJs(delta, base, width, new Uint8Array(n)), raw, `reference round trip ${what}`);
        const grouped = groupBytesJs(delta, width);
        assert.deepEqual(call(k, 'delta_group', [raw, base], n, width, sub), grouped, `delta_group ${what}`);
        assert.deepEqual(call(k, 'ungroup_undo', [grouped, base], n, width, sub), raw, `ungroup_undo ${what}`);
        // xor-delta chunks exist at every width (written before sub-delta): plain XOR, grouped.
        const xored = raw.map((b, i) => b ^ base[i]!);
        assert.deepEqual(call(k, 'delta_group', [raw, base], n, width, 0), groupBytesJs(xored, width), `xor delta_group ${what}`);
        assert.deepEqual(call(k, 'ungroup_undo', [groupBytesJs(xored, width), base], n, width, 0), raw, `xor ungroup_undo ${what}`);
        cases += 7;
      }
    }
  }
  assert.ok(cases >= 1000, `${cases} cases`);
});

test('the public functions dispatch to the kernels above the crossover and agree with the references on unaligned views', () => {
  assert.ok(KERNEL_MIN_BYTES > 0 && KERNEL_MIN_BYTES <= 65_536);
  const backing = new Uint8Array(1_048_592);
  backing.set(c100, 0);
  backing.set(c50.subarray(0, backing.byteLength - c100.byteLength), c100.byteLength);
  // A base one small update away: every seventh byte differs in its lowest bit.
  const baseBacking = backing.map((b, i) => b ^ (i % 7 === 0 ? 1 : 0));
  for (const width of [2, 3, 4, 8]) {
    for (const n of [KERNEL_MIN_BYTES - 1, KERNEL_MIN_BYTES, 65_539, 262_147, 1_048_579]) {
      for (const offset of [0, 1, 3]) {
        const raw = backing.subarray(offset, offset + n);
        const base = baseBacking.subarray(offset + 4, offset + 4 + n);
        const what = `width ${width} length ${n} offset ${offset}`;
        const g = groupBytes(raw, width, new Uint8Array(n + 5).subarray(5 - offset, 5 - offset + n));
        assert.deepEqual(g, groupBytesJs(raw, width), `groupBytes ${what}`);
        assert.deepEqual(ungroupBytes(g, width), raw, `ungroupBytes ${what}`);
        const d = applyDelta(raw, base, width, new Uint8Array(n));
        assert.deepEqual(d, applyDeltaJs(raw, base, width, new Uint8Array(n)), `applyDelta ${what}`);
        assert.deepEqual(undoDelta(d, base, width, d.slice()), raw, `undoDelta ${what}`);
        const into = new Uint8Array(n);
        const stats = groupBytesStats(raw, width, into);
        assert.deepEqual(into, g, `groupBytesStats bytes ${what}`);
        assert.deepEqual(stats, planeRanges(n, width).map(([a, b]) => planeStats(g.subarray(a, b))), `groupBytesStats stats ${what}`);
        const dInto = new Uint8Array(n);
        const dStats = applyDeltaGrouped(raw, base, width, dInto);
        const dg = groupBytesJs(d, width);
        assert.deepEqual(dInto, dg, `applyDeltaGrouped bytes ${what}`);
        assert.deepEqual(dStats, planeRanges(n, width).map(([a, b]) => planeStats(dg.subarray(a, b))), `applyDeltaGrouped stats ${what}`);
        assert.deepEqual(undoDeltaGrouped(dg, base, width, deltaKind(width), new Uint8Array(n)), raw, `undoDeltaGrouped ${what}`);
      }
    }
  }
});

test('chunks encode to the same bytes with the kernels and with ENGRAM_KERNELS=js, and each decodes the other\'s', async () => {
  assert.ok(loadKernel('delta') && loadKernel('byte-group'), 'this process must run the kernels');
  const dir = mkdtempSync(join(tmpdir(), 'engram-kernels-'));
  try {
    const helper = fileURLToPath(new URL('../helpers/kernel-chunks.ts', import.meta.url));
    const codec = fileURLToPath(new URL('../../src/codec/index.ts', import.meta.url));
    const script = `
      import { writeFileSync } from 'node:fs';
      import { encodeChunk, sha256Hex } from ${JSON.stringify(codec)};
      import { kernelChunks } from ${JSON.stringify(helper)};
      const { loadKernel } = await import(${JSON.stringify(fileURLToPath(new URL('../../src/codec/wasm/index.ts', import.meta.url)))});
      if (loadKernel('delta') !== undefined) throw new Error('ENGRAM_KERNELS=js did not disable the kernels');
      let i = 0;
      for (const c of kernelChunks()) {
        const base = c.base ? { hash: sha256Hex(c.base), bytes: c.base } : undefined;
        writeFileSync(${JSON.stringify(dir)} + '/' + i++, await encodeChunk(c.raw, { width: c.width, base }));
      }`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ENGRAM_KERNELS: 'js' }, encoding: 'utf8' });
    assert.equal(r.status, 0, `child failed: ${r.stderr}`);
    const chunks = kernelChunks();
    let deltas = 0;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      const base = c.base ? { hash: sha256Hex(c.base), bytes: c.base } : undefined;
      const mine = await encodeChunk(c.raw, { width: c.width, base });
      const theirs = new Uint8Array(readFileSync(join(dir, String(i))));
      assert.ok(Buffer.from(mine).equals(theirs), `${c.label}: kernel and TypeScript encodings differ`);
      if (mine[5] === 2 || mine[5] === 3) deltas++;
      const getBase = async (): Promise<Uint8Array> => c.base!;
      const back = await decodeChunk(theirs, { expectedHash: sha256Hex(c.raw), getBase });
      assert.ok(Buffer.from(back).equals(Buffer.from(c.raw)), `${c.label}: decode`);
    }
    assert.ok(deltas >= 4, `only ${deltas} chunks were coded as deltas`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the TypeScript reference on real bf16 planes round-trips through the kernel path (both directions)', () => {
  const b100 = highHalves(c100), b50 = highHalves(c50);
  const g = groupBytes(b100, 2);
  assert.deepEqual(g, groupBytesJs(b100, 2));
  assert.deepEqual(ungroupBytesJs(g, 2), b100);
  const dg = new Uint8Array(b100.byteLength);
  applyDeltaGrouped(b100, b50, 2, dg);
  assert.deepEqual(undoDeltaGrouped(dg, b50, 2, 'sub', new Uint8Array(dg.byteLength)), b100);
  const back = new Uint8Array(dg.byteLength);
  undoDeltaJs(ungroupBytesJs(dg, 2), b50, 2, back);
  assert.deepEqual(back, b100);
});
