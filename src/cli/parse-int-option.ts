/** @module Integer options of the CLI (`--step`, `--rank`, `--keep-last`, …), checked against their range. */
import { EngramError } from '../errors/index.ts';

/**
 * The integer `text` of `option`, or `InvalidArgument` saying which range is allowed (so `--step -1`
 * reads "--step must be an integer from 0 to 9007199254740991, got -1").
 */
export function parseIntOption(option: string, text: string | undefined, range: { readonly min?: number; readonly max?: number } = {}): number {
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const n = Number(text);
  if (text === undefined || !/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new EngramError('InvalidArgument', `${option} must be an integer from ${min} to ${max}, got ${text === undefined ? 'nothing' : JSON.stringify(text)}`, { option, value: text ?? null, min, max });
  }
  return n;
}
