/** @module Durations on the command line: `1h`, `30m`, `90s`, `500ms`, `2d`, or plain seconds. */
import { EngramError } from '../errors/index.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds in `text`; a bare number is in `bareUnit` (default seconds). `InvalidArgument` otherwise. */
export function parseDuration(text: string, option: string, bareUnit: keyof typeof UNIT_MS = 's'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new EngramError('InvalidArgument', `${option} expects a duration of 0 or more, such as 1h, 30m, 90s or 0s, got ${JSON.stringify(text)}`, { value: text });
  return Number(m[1]) * UNIT_MS[m[2] ?? bareUnit]!;
}

/** `3600000` → `1h`, `90000` → `90s`: the shortest exact spelling. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms === 0 ? '0s' : `${ms}ms`;
}
