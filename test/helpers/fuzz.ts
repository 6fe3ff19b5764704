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
 * is a typed error; either way within 2 s and within the case's bounds on bytes.
 */
export class FuzzRun {
  readonly failures: string[] = [];
  succeeded = 0;
  readonly #outcomes = new Map<string, number>();

  /** Reads case `i` (the mutated `bytes`, behind the counting `src`) with `read` and records the outcome. */
  async check(i: number, bytes: Uint8Array, src: { readonly requested: number }, read: () => Promise<IngestedFile>, bounds: FuzzBounds): Promise<void> {
    const started = process.hrtime.bigint();
    const guard = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('hang: over 2 s')), 2000).unref());
    try {
      const file = await Promise.race([read(), guard]);
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
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (ms > 2000) this.failures.push(`case ${i}: took ${ms.toFixed(0)} ms`);
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
