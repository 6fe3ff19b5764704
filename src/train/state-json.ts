/**
 * @module JSON for the small parts of a training state (RNG, data position, optimizer step, LR
 * schedule, metrics history, user state). Plain JSON turns NaN and ±Infinity into null and −0 into
 * 0 — a diverged loss in the metrics history or a −0 in user state would come back different — so
 * those four values are written as `{"$float": "NaN" | "Infinity" | "-Infinity" | "-0"}` and read
 * back as the numbers. Everything else is ordinary JSON, and JavaScript prints every finite double
 * so that it parses back to the same bits.
 */
import { EngramError } from '../errors/index.ts';

const SPECIAL: Readonly<Record<string, number>> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY, '-0': -0 };

function replacer(_key: string, value: unknown): unknown {
  if (typeof value !== 'number') return value;
  if (Number.isNaN(value)) return { $float: 'NaN' };
  if (value === Number.POSITIVE_INFINITY) return { $float: 'Infinity' };
  if (value === Number.NEGATIVE_INFINITY) return { $float: '-Infinity' };
  if (Object.is(value, -0)) return { $float: '-0' };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const f = (value as { $float?: unknown }).$float;
    if (keys.length === 1 && typeof f === 'string' && Object.hasOwn(SPECIAL, f)) return SPECIAL[f];
  }
  return value;
}

/** Encodes a value as UTF-8 JSON, keeping NaN, ±Infinity and −0. */
export function encodeStateJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, replacer));
}

/**
 * Decodes what {@link encodeStateJson} wrote. Bytes that are not JSON are a `FormatError` naming
 * `what` (the bytes themselves were verified against their hash, so this is a foreign blob, not
 * corruption).
 */
export function decodeStateJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes), reviver) as unknown;
  } catch (e) {
    throw new EngramError('FormatError', `${what} is not valid JSON`, { item: what, reason: 'not valid JSON' }, { cause: e });
  }
}
