/** Pieces shared by the format fuzz suites and the hand-built protobuf fixtures. */
import { isEngramError } from '../../src/errors/index.ts';
import { rebuildFile, type IngestedFile } from '../../src/formats/index.ts';

export { rng as prng } from './weights.ts';

/** A protobuf varint (64-bit two's complement for negatives, as protobuf writes them). */
export function varint(n: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? b | 0x80 : b);
  } while (v > 0n);
  return out;
}

/**
 * The tally label of a typed refusal (its code and reason with numbers and quoted names folded, so
 * the diagnostic counts kinds of failure), or undefined when `e` is not a FormatError/Unsupported.
 */
export function refusalLabel(e: unknown): string | undefined {
  if (!isEngramError(e, 'FormatError') && !isEngramError(e, 'Unsupported')) return undefined;
  return `${e.code}: ${String(e.data.reason ?? e.message).replace(/"[^"]*"|\d+|\[[^\]]*\]/g, '…').replace(/…+/g, '…').slice(0, 60)}`;
}

/** What one fuzz case may cost: bytes it may ask its source for, and (optionally) bytes its tensors may load. */
export interface FuzzBounds {
  readonly maxRequested: number;
  readonly maxLoaded?: number;
  /** Format-specific checks of a successful read: each returned string is a failure. */
  readonly inspect?: (file: IngestedFile) => readonly string[];
  /** Folds refusal labels that differ only in detail, for the summary. */
  readonly relabel?: (label: string) => string;
}

/**
 * The outcomes of a fuzz suite's cases. {@link check} holds each case to the suites' one contract:
 * a read loads every tensor at its declared length and rebuilds the file byte for byte, a refusal
 * is a typed error; either way within the case's bounds on bytes requested and loaded.
 *
 * No clock: a limit in seconds failed correct runs on a busy machine (an HDF5 case that replaced
 * its h5wasm worker took over 2 s at load 7). What a runaway reader does is read or allocate
 * without bound, which the byte bounds catch on any machine; a read that never settles leaves
 * nothing pending and node's test runner fails the test.
 */
export class FuzzRun {
  readonly failures: string[] = [];
  succeeded = 0;
  readonly #outcomes = new Map<string, number>();

  /** Reads case `i` (the mutated `bytes`, behind the counting `src`) with `read` and records the outcome. */
  async check(i: number, bytes: Uint8Array, src: { readonly requested: number }, read: () => Promise<IngestedFile>, bounds: FuzzBounds): Promise<void> {
    try {
      const file = await read();
      const back = new Map<string, Uint8Array>();
      let loaded = 0;
      for (const tensor of file.tensors) {
        const data = await tensor.load();
        if (data.byteLength !== tensor.byteLength) this.failures.push(`case ${i}: ${tensor.name} loaded ${data.byteLength} bytes, said ${tensor.byteLength}`);
        loaded += data.byteLength;
        back.set(tensor.name, data);
      }
      if (bounds.maxLoaded !== undefined && loaded > bounds.maxLoaded) this.failures.push(`case ${i}: loaded ${loaded} bytes from a ${bytes.length}-byte file`);
      for (const why of bounds.inspect?.(file) ?? []) this.failures.push(`case ${i}: ${why}`);
      if (Buffer.compare(rebuildFile(file, (n) => back.get(n)!), bytes) !== 0) this.failures.push(`case ${i}: read succeeded but does not rebuild the file`);
      this.succeeded++;
      this.#tally(`read as ${file.format}`);
    } catch (e) {
      const label = refusalLabel(e);
      if (label === undefined) this.failures.push(`case ${i}: ${e instanceof Error ? e.stack : String(e)}`);
      else this.#tally(bounds.relabel ? bounds.relabel(label) : label);
    }
    if (src.requested > bounds.maxRequested) this.failures.push(`case ${i}: requested ${src.requested} bytes of a ${bytes.length}-byte file`);
  }

  /** How the cases ended, most frequent first, as JSON (for `t.diagnostic`). */
  summary(): string {
    return JSON.stringify(Object.fromEntries([...this.#outcomes].sort((a, b) => b[1] - a[1])));
  }

  #tally(k: string): void {
    this.#outcomes.set(k, (this.#outcomes.get(k) ?? 0) + 1);
  }
}

/** A varint in a protobuf file: where it sits, its encoded size, its value. */
export interface PlacedVarint {
  readonly at: number;
  readonly size: number;
  readonly value: bigint;
}

/**
 * Test-side walk of an ONNX ModelProto (independent of engram's reader): every field key and length
 * prefix three messages deep (model → graph → initializers), in file order, `length` telling which.
 */
export function onnxVarints(b: Uint8Array): (PlacedVarint & { readonly length: boolean })[] {
  const out: (PlacedVarint & { length: boolean })[] = [];
  const read = (p: number): PlacedVarint => {
    let v = 0n;
    let i = p;
    for (let s = 0n; ; s += 7n) {
      const x = b[i++]!;
      v |= BigInt(x & 0x7f) << s;
      if ((x & 0x80) === 0) return { at: p, size: i - p, value: v };
    }
  };
  const walk = (p: number, end: number, depth: number): void => {
    while (p < end) {
      const k = read(p);
      out.push({ ...k, length: false });
      p += k.size;
      const wire = Number(k.value & 7n);
      if (wire === 0) p += read(p).size;
      else if (wire === 1) p += 8;
      else if (wire === 5) p += 4;
      else {
        const l = read(p);
        out.push({ ...l, length: true });
        p += l.size;
        const field = Number(k.value >> 3n);
        if ((depth === 0 && field === 7) || (depth === 1 && field === 5)) walk(p, p + Number(l.value), depth + 1);
        p += Number(l.value);
      }
    }
  };
  walk(0, b.length, 0);
  return out;
}

/**
 * The fuzz suites' catch-all mutation: random bytes from a random offset over a short, randomly
 * bounded run (the bound is drawn again at every byte). `int(n)` draws from [0, n).
 */
export function scribble(b: Uint8Array, int: (n: number) => number): Uint8Array {
  const at = int(b.length);
  for (let k = at; k < Math.min(b.length, at + 1 + int(16)); k++) b[k] = int(256);
  return b;
}
