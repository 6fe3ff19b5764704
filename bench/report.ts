/**
 * @module The benchmark report: each figure is a value, its ratios against baselines measured in
 * the same run, and the target it is held to. Targets print PASS or FAIL but never change the exit
 * status — benchmarks are not tests.
 */

/** PASS/FAIL against a target, or INFO for figures that have none. */
export type Status = 'PASS' | 'FAIL' | 'INFO';

/** One ratio against one baseline. */
export interface Comparison {
  /** e.g. "torch.save+fsync". */
  readonly label: string;
  /** The baseline's own value, formatted (e.g. "620 MB/s"). */
  readonly baseline: string;
  readonly ratio: number;
  /** How the ratio prints; default `1.31x`. */
  readonly ratioText?: string;
}

/** One line of the report. */
export interface Figure {
  readonly workload: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The value, formatted. */
  readonly text: string;
  readonly comparisons: readonly Comparison[];
  /** e.g. ">=1.2x, >=0.8x"; absent for information-only figures. */
  readonly target?: string;
  readonly status: Status;
  readonly note?: string;
}

/** A target check: `value op bound`. */
export interface Check {
  readonly value: number;
  readonly op: '<=' | '>=';
  readonly bound: number;
}

/** PASS when every check holds (INFO when there are none); NaN fails. */
export function statusOf(checks: readonly Check[]): Status {
  if (checks.length === 0) return 'INFO';
  return checks.every((c) => (c.op === '<=' ? c.value <= c.bound : c.value >= c.bound)) ? 'PASS' : 'FAIL';
}

/** Bytes per second as decimal MB/s ("812 MB/s"). */
export function rate(bytesPerSecond: number): string {
  return `${Math.round(bytesPerSecond / 1e6)} MB/s`;
}

/** A ratio as "1.31x". */
export function times(r: number): string {
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}

/** Seconds as milliseconds ("52.3 ms"). */
export function ms(seconds: number): string {
  const v = seconds * 1000;
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`;
}

/** Bytes as MiB or GiB. */
export function bytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** A size ratio ("0.842"). */
export function frac(r: number): string {
  return r.toFixed(3);
}

/** The line the terminal shows for a figure. */
export function formatFigure(f: Figure, nameWidth = 34, valueWidth = 14): string {
  const parts = [f.name.padEnd(nameWidth), f.text.padStart(valueWidth)];
  for (const c of f.comparisons) parts.push(`${c.ratioText ?? times(c.ratio)} ${c.label} (${c.baseline})`);
  if (f.target) parts.push(`target ${f.target}`);
  parts.push(f.status === 'INFO' ? 'info' : f.status);
  let line = parts.join('   ');
  if (f.note) line += `   [${f.note}]`;
  return line;
}

/** Every figure as aligned lines. */
export function formatTable(figures: readonly Figure[]): string {
  const nameWidth = Math.max(20, ...figures.map((f) => f.name.length));
  const valueWidth = Math.max(10, ...figures.map((f) => f.text.length));
  return figures.map((f) => formatFigure(f, nameWidth, valueWidth)).join('\n');
}

/** Every figure as a Markdown table. */
export function markdownTable(figures: readonly Figure[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const rows = figures.map((f) => {
    const vs = f.comparisons.map((c) => `${c.ratioText ?? times(c.ratio)} ${c.label} (${c.baseline})`).join('<br>');
    const value = f.note ? `${f.text} (${f.note})` : f.text;
    return `| ${esc(f.name)} | ${esc(value)} | ${esc(vs || '—')} | ${esc(f.target ?? '—')} | ${f.status === 'INFO' ? 'info' : f.status} |`;
  });
  return ['| figure | value | against baselines (same run) | target | result |', '|---|---|---|---|---|', ...rows].join('\n');
}
