/**
 * @module The regression guard: moves a tag such as `prod` or `best` onto a candidate checkpoint
 * only when the candidate's metric is not worse than the current target's by more than a tolerance.
 * A refusal is an expected outcome, so it is returned as a finding that says what regressed and by
 * how much (STYLE habit 4), never thrown.
 */
import { EngramError, isEngramError } from '../errors/index.ts';
import { defaultMetricMode, type RefEvent, type Repository } from '../repo/index.ts';

/** Options of {@link guardPromotion}. */
export interface PromotionGuardOptions {
  /** The tag to move (`prod`, `best`, …). */
  readonly tag: string;
  /** The checkpoint to promote: any ref (`run@latest`, an id, …). */
  readonly candidate: string;
  readonly metric: string;
  /** Which way is better; default from the metric's name as in `run@best:<metric>`. */
  readonly mode?: 'min' | 'max';
  /** How much worse than the current target the candidate may be (default 0: not worse at all). */
  readonly tolerance?: number;
  /** Read `tolerance` as a fraction of the current value's magnitude (0.02 = 2 %). */
  readonly relative?: boolean;
  /** Message of the tag move event. */
  readonly message?: string;
}

/** One side of a promotion: a snapshot and its metric value (null when it has none). */
export interface PromotionSide {
  readonly id: string;
  readonly run: string;
  readonly step: number;
  readonly value: number | null;
}

/** What {@link guardPromotion} decided. */
export interface PromotionFinding {
  /**
   * `promoted`: the tag now points at the candidate. `regression`: refused, the candidate is worse
   * beyond the tolerance. `unmeasured`: refused, the candidate has no (finite) value of the metric.
   * `unchanged`: the tag already points at the candidate.
   */
  readonly outcome: 'promoted' | 'regression' | 'unmeasured' | 'unchanged';
  readonly promoted: boolean;
  readonly tag: string;
  readonly metric: string;
  readonly mode: 'min' | 'max';
  /** The tolerance in metric units (a relative tolerance already multiplied out). */
  readonly allowed: number;
  readonly candidate: PromotionSide;
  /** The tag's target before, if the tag existed. */
  readonly current: PromotionSide | null;
  /** How much worse the candidate is than the current target (negative: better); null when either is unmeasured. */
  readonly regression: number | null;
  readonly message: string;
  /** The tag move, when promoted. */
  readonly event?: RefEvent;
}

const valueOf = (metrics: Readonly<Record<string, number>>, metric: string): number | null => {
  const v = metrics[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

/**
 * Moves `tag` onto `candidate` unless that would regress `metric` beyond the tolerance, and says
 * what it did. Throws only for misuse and I/O faults (an unknown candidate is `NotFound`).
 *
 * @example
 * const f = await guardPromotion(repo, { tag: 'prod', candidate: 'mlp@latest', metric: 'val_loss', tolerance: 0.01 });
 * if (!f.promoted) console.warn(f.message);
 */
export async function guardPromotion(repo: Repository, options: PromotionGuardOptions): Promise<PromotionFinding> {
  const { tag, metric } = options;
  if (metric === '') throw new EngramError('InvalidArgument', 'guardPromotion needs a metric name');
  const tolerance = options.tolerance ?? 0;
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new EngramError('InvalidArgument', `tolerance must be a non-negative number, got ${tolerance}`, { tolerance });
  const mode = options.mode ?? defaultMetricMode(metric);
  const cand = await repo.manifest(await repo.resolve(options.candidate));
  const candidate: PromotionSide = { id: cand.id, run: cand.run, step: cand.step, value: valueOf(cand.metrics, metric) };

  let current: PromotionSide | null = null;
  // An invalid tag name is refused here (InvalidArgument), before anything moves.
  const currentId = await repo.refs.resolve(tag);
  if (currentId !== undefined) {
    try {
      const m = await repo.manifest(currentId);
      current = { id: m.id, run: m.run, step: m.step, value: valueOf(m.metrics, metric) };
    } catch (e) {
      // A tag whose snapshot was forgotten guards nothing.
      if (!isEngramError(e, 'NotFound')) throw e;
    }
  }
  const allowed = options.relative && current?.value != null ? tolerance * Math.abs(current.value) : tolerance;
  const regression = candidate.value !== null && current?.value != null
    ? (mode === 'min' ? candidate.value - current.value : current.value - candidate.value) : null;
  const base = { tag, metric, mode, allowed, candidate, current, regression };
  const at = (s: PromotionSide): string => `${s.run}@${s.step} (${s.id})`;

  if (current?.id === candidate.id) {
    return { ...base, outcome: 'unchanged', promoted: false, message: `tag ${tag} already points at ${at(candidate)}` };
  }
  if (candidate.value === null) {
    return { ...base, outcome: 'unmeasured', promoted: false, message: `refused to move tag ${tag} to ${at(candidate)}: it has no value of ${metric}` };
  }
  if (regression !== null && regression > allowed) {
    return {
      ...base, outcome: 'regression', promoted: false,
      message: `refused to move tag ${tag} to ${at(candidate)}: ${metric} ${candidate.value} is worse than ${current!.value} at ${at(current!)} by ${regression} (${mode === 'min' ? 'lower' : 'higher'} is better; tolerance ${allowed})`,
    };
  }
  const why = current === null ? 'tag is new'
    : current.value === null ? `the current target has no ${metric}`
      : `${metric} ${candidate.value} vs ${current.value} (${mode}, tolerance ${allowed})`;
  const event = await repo.tag(tag, candidate.id, options.message ?? `promote: ${why}`);
  return { ...base, outcome: 'promoted', promoted: true, event, message: `moved tag ${tag} to ${at(candidate)}: ${why}` };
}
