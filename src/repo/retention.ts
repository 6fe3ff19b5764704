/**
 * @module Retention policies: which snapshots to keep, as a pure function of the snapshots and the
 * tags. The rules are Orbax's CheckpointManager options (max_to_keep, keep_period,
 * keep_time_interval, best_fn with best_mode and keep_checkpoints_without_metrics) plus chosen steps;
 * they compose by union — a snapshot is forgotten only when no rule keeps it — and every kept
 * snapshot says which rules kept it, so a dry run explains itself.
 */
import { EngramError } from '../errors/index.ts';
import { defaultMetricMode } from './ref-syntax.ts';

/** One keep rule. Each is evaluated within each run separately. */
export type RetentionRule =
  /** The `n` latest snapshots (highest steps; ties: the newest). Orbax `max_to_keep`. */
  | { readonly kind: 'last'; readonly n: number }
  /** Snapshots whose step is a multiple of `n`. Orbax `keep_period`. */
  | { readonly kind: 'every-steps'; readonly n: number }
  /**
   * Walking from the oldest, a snapshot created at least `seconds` after the last one this rule
   * kept (the oldest is kept). Orbax `keep_time_interval`.
   */
  | { readonly kind: 'every-seconds'; readonly seconds: number }
  /**
   * The `n` best by `metric` (`mode` defaults as in `run@best:<metric>`: losses and errors are
   * minimised); ties prefer the newest. Snapshots without the metric are kept unless
   * `keepUnmeasured` is false (Orbax `keep_checkpoints_without_metrics`, default true).
   */
  | { readonly kind: 'best'; readonly metric: string; readonly n: number; readonly mode?: 'min' | 'max'; readonly keepUnmeasured?: boolean }
  /** These exact steps. */
  | { readonly kind: 'steps'; readonly steps: readonly number[] };

/** A set of keep rules and where they apply. */
export interface RetentionPolicy {
  /** Only this run's snapshots are considered; other runs are left alone. Default: every run. */
  readonly run?: string;
  readonly rules: readonly RetentionRule[];
  /** Keep every snapshot a tag points at (default true; false is the explicit opt-out). */
  readonly keepTagged?: boolean;
  /** Keep each run's latest snapshot, and its head when a rollback moved it (default true). */
  readonly keepNewest?: boolean;
  /** Allow `rules` to be empty: forget everything the tag and newest guards do not keep. */
  readonly all?: boolean;
}

/** What a retention plan needs to know of a snapshot. */
export interface RetentionCandidate {
  readonly id: string;
  readonly run: string;
  readonly step: number;
  /** ISO-8601. */
  readonly createdAt: string;
  readonly metrics: Readonly<Record<string, number>>;
}

/** One reason a snapshot is kept. */
export interface KeepReason {
  /** The rule kind that kept it, or `tagged` / `newest`. */
  readonly by: RetentionRule['kind'] | 'tagged' | 'newest';
  /** Index of the rule in `policy.rules`, for rule reasons. */
  readonly rule?: number;
  /** For people: `last 3`, `best 2 by loss (min)`, `tag prod`, … */
  readonly label: string;
}

/** The decision for one snapshot. */
export interface RetentionDecision {
  readonly id: string;
  readonly run: string;
  readonly step: number;
  readonly createdAt: string;
  /** Empty for a forgotten snapshot. */
  readonly keptBy: readonly KeepReason[];
}

/** The outcome of {@link planRetention}: considered snapshots, oldest first. */
export interface RetentionPlan {
  readonly keep: readonly RetentionDecision[];
  readonly forget: readonly RetentionDecision[];
  /** Snapshots of other runs, not considered. */
  readonly untouched: number;
}

function invalid(message: string, data: Record<string, unknown> = {}): EngramError {
  return new EngramError('InvalidArgument', message, data);
}

function positiveInt(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n <= 0) throw invalid(`${what} must be a positive integer, got ${n}`, { [what]: n });
}

/** Throws `InvalidArgument` for a rule that cannot be meant. */
export function checkRetentionPolicy(policy: RetentionPolicy): void {
  if (policy.rules.length === 0 && policy.all !== true) {
    throw invalid('a retention policy with no keep rule would forget every snapshot that is not tagged or a run\'s newest; name a rule, or ask for all explicitly');
  }
  for (const r of policy.rules) {
    switch (r.kind) {
      case 'last':
      case 'every-steps':
        positiveInt(r.n, `${r.kind} n`);
        break;
      case 'every-seconds':
        if (!Number.isFinite(r.seconds) || r.seconds <= 0) throw invalid(`every-seconds needs a positive number of seconds, got ${r.seconds}`);
        break;
      case 'best':
        if (r.metric === '') throw invalid('best needs a metric name');
        positiveInt(r.n, 'best n');
        if (r.mode !== undefined && r.mode !== 'min' && r.mode !== 'max') throw invalid(`best mode must be min or max, got ${String(r.mode)}`);
        break;
      case 'steps':
        for (const s of r.steps) if (!Number.isSafeInteger(s) || s < 0) throw invalid(`steps must be non-negative integers, got ${s}`);
        break;
      default:
        throw invalid(`unknown retention rule ${JSON.stringify((r as { kind?: unknown }).kind)}`);
    }
  }
}

/** The label of a rule, as dry runs print it. */
export function describeRule(rule: RetentionRule): string {
  switch (rule.kind) {
    case 'last': return `last ${rule.n}`;
    case 'every-steps': return `every ${rule.n} steps`;
    case 'every-seconds': return `every ${rule.seconds} s`;
    case 'best': return `best ${rule.n} by ${rule.metric} (${rule.mode ?? defaultMetricMode(rule.metric)})`;
    case 'steps': return `steps ${rule.steps.join(',')}`;
  }
}

/** Latest first: highest step, ties the newest id — the order `run@latest` uses. */
const byLatest = (a: RetentionCandidate, b: RetentionCandidate): number => b.step - a.step || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** The ids one rule keeps among one run's snapshots, with a label each. */
function applyRule(rule: RetentionRule, run: readonly RetentionCandidate[]): Map<string, string> {
  const kept = new Map<string, string>();
  const label = describeRule(rule);
  switch (rule.kind) {
    case 'last':
      for (const s of [...run].sort(byLatest).slice(0, rule.n)) kept.set(s.id, label);
      break;
    case 'every-steps':
      for (const s of run) if (s.step % rule.n === 0) kept.set(s.id, label);
      break;
    case 'every-seconds': {
      const timed = run.map((s) => ({ s, t: Date.parse(s.createdAt) }))
        .sort((a, b) => a.t - b.t || (a.s.id < b.s.id ? -1 : 1));
      let last: number | undefined;
      for (const { s, t } of timed) {
        if (Number.isNaN(t)) continue;
        if (last === undefined || t - last >= rule.seconds * 1000) {
          kept.set(s.id, label);
          last = t;
        }
      }
      break;
    }
    case 'best': {
      const mode = rule.mode ?? defaultMetricMode(rule.metric);
      const measured = run.filter((s) => typeof s.metrics[rule.metric] === 'number' && !Number.isNaN(s.metrics[rule.metric]));
      measured.sort((a, b) => {
        const d = mode === 'min' ? a.metrics[rule.metric]! - b.metrics[rule.metric]! : b.metrics[rule.metric]! - a.metrics[rule.metric]!;
        return d || (a.id < b.id ? 1 : -1);
      });
      for (const s of measured.slice(0, rule.n)) kept.set(s.id, `${label}: ${s.metrics[rule.metric]}`);
      if (rule.keepUnmeasured !== false) {
        const has = new Set(measured.map((s) => s.id));
        for (const s of run) if (!has.has(s.id)) kept.set(s.id, `${label}: has no ${rule.metric}, kept as unmeasured`);
      }
      break;
    }
    case 'steps': {
      const steps = new Set(rule.steps);
      for (const s of run) if (steps.has(s.step)) kept.set(s.id, `step ${s.step} chosen`);
      break;
    }
  }
  return kept;
}

/**
 * Decides which snapshots a policy keeps. Pure: the same snapshots, tags and policy give the same
 * plan.
 *
 * @example
 * const plan = planRetention(await repo.log(), await repo.tags(), { rules: [{ kind: 'last', n: 3 }, { kind: 'best', metric: 'loss', n: 1 }] });
 * for (const s of plan.keep) console.log(s.run, s.step, s.keptBy.map((r) => r.label).join(', '));
 */
export function planRetention(
  snapshots: readonly RetentionCandidate[], tags: ReadonlyMap<string, string>, policy: RetentionPolicy,
  /** Run → head snapshot id, for runs whose head a rollback moved: kept like the newest. */
  heads: ReadonlyMap<string, string> = new Map(),
): RetentionPlan {
  checkRetentionPolicy(policy);
  const considered = snapshots.filter((s) => policy.run === undefined || s.run === policy.run);
  const reasons = new Map<string, KeepReason[]>(considered.map((s) => [s.id, []]));
  const byRun = new Map<string, RetentionCandidate[]>();
  for (const s of considered) byRun.set(s.run, [...(byRun.get(s.run) ?? []), s]);

  for (const run of byRun.values()) {
    policy.rules.forEach((rule, i) => {
      for (const [id, label] of applyRule(rule, run)) reasons.get(id)!.push({ by: rule.kind, rule: i, label });
    });
    if (policy.keepNewest !== false) {
      const newest = [...run].sort(byLatest)[0]!;
      reasons.get(newest.id)!.push({ by: 'newest', label: `newest of run ${newest.run}` });
      const head = heads.get(newest.run);
      if (head !== undefined && head !== newest.id) reasons.get(head)?.push({ by: 'newest', label: `head of run ${newest.run} (rolled back)` });
    }
  }
  if (policy.keepTagged !== false) {
    const tagsOf = new Map<string, string[]>();
    for (const [name, id] of tags) tagsOf.set(id, [...(tagsOf.get(id) ?? []), name]);
    for (const [id, names] of tagsOf) reasons.get(id)?.push({ by: 'tagged', label: `tag ${names.sort().join(', ')}` });
  }

  const keep: RetentionDecision[] = [];
  const forget: RetentionDecision[] = [];
  for (const s of [...considered].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const keptBy = reasons.get(s.id)!;
    (keptBy.length > 0 ? keep : forget).push({ id: s.id, run: s.run, step: s.step, createdAt: s.createdAt, keptBy });
  }
  return { keep, forget, untouched: snapshots.length - considered.length };
}
