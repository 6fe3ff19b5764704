/**
 * @module `node --import tsx bench/delta-rules.ts`: the sizes behind docs/ARCHITECTURE.md's "Delta
 * chains: what restore costs". It encodes every W3 checkpoint (fp32 and bf16 parameters) against
 * every earlier one with the repository's chunking (4 MiB fixed chunks; tensors under 64 KiB are
 * bundled and never deltas, so they are coded whole) and then plays base rules on that matrix: a
 * chain against the previous checkpoint up to depth D, deltas against the keyframe with a new one
 * every N checkpoints, and depth 2 against the chain's first delta with a keyframe once the savings
 * drop below a fraction (per checkpoint here; the repository decides per chunk, so its figures
 * differ a little). Prints each rule's sequence and its worst window of ≥ 6 checkpoints (stored/raw).
 * Measurement only.
 */
import { encodeChunk } from '../src/codec/index.ts';
import { dtypeSize } from '../src/tensor/index.ts';
import { slotBytes, type TensorSet } from './tensor-set.ts';
import { toBf16Set } from './workloads/w2.ts';
import { loadW3, paramsOnly } from './workloads/w3.ts';

const CHUNK = 4 * 1024 * 1024;
const SMALL = 64 * 1024;
const NO_HASH = '0'.repeat(64);

interface Piece { readonly raw: Uint8Array; readonly width: number; readonly delta: boolean }

function pieces(set: TensorSet): Piece[] {
  const out: Piece[] = [];
  for (const s of set.slots) {
    const b = slotBytes(set, s);
    const width = dtypeSize(s.dtype);
    if (b.byteLength < SMALL) out.push({ raw: b, width, delta: false });
    else for (let a = 0; a < b.byteLength; a += CHUNK) out.push({ raw: b.subarray(a, Math.min(a + CHUNK, b.byteLength)), width, delta: true });
  }
  return out;
}

/** Stored bytes of `set` encoded alone, or against `base` where a chunk may be a delta. */
async function stored(set: TensorSet, base?: TensorSet): Promise<number> {
  const p = pieces(set);
  const q = base ? pieces(base) : undefined;
  let n = 0;
  for (let k = 0; k < p.length; k++) {
    const b = q && p[k]!.delta ? { hash: NO_HASH, bytes: q[k]!.raw } : undefined;
    n += (await encodeChunk(p[k]!.raw, { width: p[k]!.width, level: 3, base: b })).byteLength;
  }
  return n;
}

/** A rule's choice for checkpoint j: the earlier checkpoint it is a delta against, or j for a keyframe. */
type Rule = (j: number, state: { base: number[]; depth: number[]; size: number[] }, m: number[][]) => number;

const chain = (d: number): Rule => (j, s) => (j === 0 || s.depth[j - 1]! >= d ? j : j - 1);
const keyframeEvery = (n: number): Rule => {
  let kf = 0;
  return (j) => {
    if (j - kf >= n) kf = j;
    return kf;
  };
};
const firstDelta = (fraction: number): Rule => (j, s) => {
  if (j === 0) return j;
  const p = j - 1;
  if (s.depth[p]! < 2) return p;
  const first = s.base[p]!;
  const keyframe = s.base[first]!;
  const pays = s.size[keyframe]! - s.size[p]! >= fraction * (s.size[keyframe]! - s.size[first]!);
  return pays ? first : j;
};

function play(m: number[][], rule: Rule): number[] {
  const s = { base: [] as number[], depth: [] as number[], size: [] as number[] };
  for (let j = 0; j < m.length; j++) {
    const b = rule(j, s, m);
    s.base.push(b);
    s.depth.push(b === j ? 0 : s.depth[b]! + 1);
    s.size.push(m[j]![b]!);
  }
  return s.size;
}

function worstWindow(sizes: readonly number[]): number {
  let worst = 0;
  for (let a = 0; a < sizes.length; a++) for (let b = a + 6; b <= sizes.length; b++) worst = Math.max(worst, sizes.slice(a, b).reduce((x, y) => x + y, 0) / (b - a));
  return worst;
}

const seq = (await loadW3((s) => console.error(s))).map((c) => paramsOnly(c.state));
for (const [label, sets] of [['fp32', seq], ['bf16', seq.map(toBf16Set)]] as const) {
  const raw = sets[0]!.rawBytes;
  // m[j][i]: checkpoint j against checkpoint i (i < j), or alone (i = j), as a fraction of raw.
  const m: number[][] = [];
  for (let j = 0; j < sets.length; j++) {
    const row: number[] = [];
    for (let i = 0; i <= j; i++) row.push((await stored(sets[j]!, i === j ? undefined : sets[i]!)) / raw);
    m.push(row);
  }
  const rules: [string, Rule][] = [
    ...[4, 2, 1].map((d): [string, Rule] => [`previous checkpoint, depth ${d}`, chain(d)]),
    ...[3, 5, 7, 10].map((n): [string, Rule] => [`the keyframe, a new one every ${n}`, keyframeEvery(n)]),
    ...[0.5, 0.7, 0.8].map((f): [string, Rule] => [`the chain's first delta, keyframe below ${f} of its saving`, firstDelta(f)]),
  ];
  for (const [name, rule] of rules) {
    const sizes = play(m, rule);
    const total = sizes.reduce((x, y) => x + y, 0) / sizes.length;
    console.log(`${label}  ${name.padEnd(58)} sequence ${total.toFixed(3)}  worst ≥ 6 ${worstWindow(sizes).toFixed(3)}  [${sizes.map((x) => x.toFixed(3)).join(' ')}]`);
  }
}
