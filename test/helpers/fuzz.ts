/** Pieces shared by the format fuzz suites and the hand-built protobuf fixtures. */
import { isEngramError } from '../../src/errors/index.ts';

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
