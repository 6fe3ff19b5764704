/**
 * @module `npm run bench:context`: how much smaller the delta of consecutive checkpoints could be
 * with a better model than order-0. For each pair of consecutive checkpoints (W3 fp32 and bf16, and
 * ../shared/corpus/ckpt_seq when present) it takes the XOR delta byte plane by byte plane and prints
 * the code length of an adaptive coder (counts start at 1/32 per symbol, so the model's own cost is
 * paid, not assumed away) under four contexts: none (order-0), the parent's byte at the same
 * position, the parent's exponent byte (the top byte of the element), and the delta's byte of the
 * plane above (already decoded when planes are decoded top-down). Measurement only: no engram
 * format codes a plane with a context; docs/ARCHITECTURE.md says what the figures decided.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bufferSource, readTensorFile } from '../src/formats/index.ts';
import { slotBytes, type TensorSet } from './tensor-set.ts';
import { toBf16Set } from './workloads/w2.ts';
import { loadW3, paramsOnly } from './workloads/w3.ts';

type Context = 'order-0' | 'parent byte' | 'parent exponent byte' | 'delta of the plane above';
const CONTEXTS: readonly Context[] = ['order-0', 'parent byte', 'parent exponent byte', 'delta of the plane above'];

/** Bits an adaptive order-0 coder per context value needs for `sym`. */
function adaptiveBits(sym: Uint8Array, ctx: Uint8Array | undefined): number {
  const contexts = ctx ? 256 : 1;
  const counts = new Float64Array(contexts * 256);
  const totals = new Float64Array(contexts);
  const prior = 1 / 32;
  let bits = 0;
  for (let i = 0; i < sym.length; i++) {
    const c = ctx ? ctx[i]! : 0;
    const s = sym[i]!;
    bits -= Math.log2((counts[c * 256 + s]! + prior) / (totals[c]! + 256 * prior));
    counts[c * 256 + s]!++;
    totals[c]!++;
  }
  // A plane no model shrinks is stored raw.
  return Math.min(bits, 8 * sym.length);
}

/** Tensors by name → bytes, with their element width. */
type Checkpoint = Map<string, { width: number; bytes: Uint8Array }>;

function fromSet(set: TensorSet): Checkpoint {
  const m: Checkpoint = new Map();
  for (const s of set.slots) if (s.dtype === 'F32' || s.dtype === 'BF16') m.set(s.name, { width: s.dtype === 'F32' ? 4 : 2, bytes: slotBytes(set, s) });
  return m;
}

async function fromFile(path: string): Promise<Checkpoint> {
  const f = await readTensorFile(bufferSource(path, new Uint8Array(readFileSync(path))));
  const m: Checkpoint = new Map();
  for (const t of f.tensors) if (t.dtype === 'F32') m.set(t.name, { width: 4, bytes: await t.load() });
  return m;
}

/** Code length per context, as a fraction of the raw bytes, of `cur` as a delta against `prev`. */
function pairSizes(prev: Checkpoint, cur: Checkpoint): { raw: number; sizes: Record<Context, number> } {
  const bits: Record<Context, number> = { 'order-0': 0, 'parent byte': 0, 'parent exponent byte': 0, 'delta of the plane above': 0 };
  let raw = 0;
  for (const [name, { width, bytes }] of cur) {
    const p = prev.get(name);
    if (!p || p.bytes.byteLength !== bytes.byteLength || p.width !== width) continue;
    const n = Math.floor(bytes.byteLength / width);
    raw += n * width;
    const delta = Array.from({ length: width }, () => new Uint8Array(n));
    const base = Array.from({ length: width }, () => new Uint8Array(n));
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < width; k++) {
        delta[k]![i] = bytes[i * width + k]! ^ p.bytes[i * width + k]!;
        base[k]![i] = p.bytes[i * width + k]!;
      }
    }
    for (let k = 0; k < width; k++) {
      bits['order-0'] += adaptiveBits(delta[k]!, undefined);
      bits['parent byte'] += adaptiveBits(delta[k]!, base[k]);
      bits['parent exponent byte'] += adaptiveBits(delta[k]!, base[width - 1]);
      bits['delta of the plane above'] += adaptiveBits(delta[k]!, k < width - 1 ? delta[k + 1] : undefined);
    }
  }
  const sizes = Object.fromEntries(CONTEXTS.map((c) => [c, bits[c] / 8 / Math.max(1, raw)])) as Record<Context, number>;
  return { raw, sizes };
}

function report(label: string, seq: readonly Checkpoint[]): void {
  const sums: Record<Context, number> = { 'order-0': 0, 'parent byte': 0, 'parent exponent byte': 0, 'delta of the plane above': 0 };
  let raw = 0;
  for (let i = 1; i < seq.length; i++) {
    const r = pairSizes(seq[i - 1]!, seq[i]!);
    raw += r.raw;
    for (const c of CONTEXTS) sums[c] += r.sizes[c] * r.raw;
  }
  const cells = CONTEXTS.map((c) => `${c} ${(sums[c] / raw).toFixed(4)}`);
  process.stdout.write(`${label.padEnd(22)} ${seq.length - 1} deltas, of raw: ${cells.join('  ')}\n`);
}

const w3 = (await loadW3((s) => void process.stderr.write(`${s}\n`))).map((c) => paramsOnly(c.state));
report('W3 fp32', w3.map(fromSet));
report('W3 bf16', w3.map((s) => fromSet(toBf16Set(s))));
const seqDir = join(import.meta.dirname, '..', '..', 'shared', 'corpus', 'ckpt_seq', 'pt');
if (existsSync(seqDir)) {
  const files = readdirSync(seqDir).filter((f) => f.endsWith('.pt')).sort();
  report('ckpt_seq fp32', await Promise.all(files.map((f) => fromFile(join(seqDir, f)))));
} else {
  process.stdout.write(`ckpt_seq: ${seqDir} absent, skipped\n`);
}
