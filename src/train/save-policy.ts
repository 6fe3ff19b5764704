/**
 * @module Save policies: when `CheckpointManager.save(step, …)` actually writes a checkpoint. The
 * rules mirror Orbax's `save_interval_steps`, a time interval, chosen steps and a custom predicate;
 * a list of them composes by "any": the step is saved when one of them says so. Deciding is a pure
 * function of the step, the clock and what was saved last, so it is tested without a repository.
 */
import { EngramError } from '../errors/index.ts';

/** What a save policy sees. */
export interface SavePolicyContext {
  readonly step: number;
  /** The step last saved (or restored) by this manager, if any. */
  readonly lastSavedStep: number | undefined;
  /** Seconds since the last save (or restore, or since the manager was made). */
  readonly secondsSinceLastSave: number;
  /** Metrics passed to this `save()` call. */
  readonly metrics: Readonly<Record<string, number>>;
}

/** One save rule. */
export type SavePolicy =
  /** Steps that are multiples of `n` (Orbax `save_interval_steps`); aligned to step numbers, so a resume keeps the rhythm. */
  | { readonly kind: 'every-steps'; readonly n: number }
  /** The first step at least `seconds` after the last save. */
  | { readonly kind: 'every-seconds'; readonly seconds: number }
  /** These exact steps (the final step, a milestone). */
  | { readonly kind: 'steps'; readonly steps: readonly number[] }
  /** A custom rule; `label` names it in events. */
  | { readonly kind: 'predicate'; readonly test: (ctx: SavePolicyContext) => boolean; readonly label?: string };

/** The outcome of {@link decideSave}. */
export interface SaveDecision {
  readonly save: boolean;
  /** Which policy decided (`every 100 steps`, `forced`, …), or why nothing did. */
  readonly reason: string;
}

/** Throws `InvalidArgument` for a policy that cannot be meant. */
export function checkSavePolicies(policies: readonly SavePolicy[]): void {
  for (const p of policies) {
    switch (p?.kind) {
      case 'every-steps':
        if (!Number.isSafeInteger(p.n) || p.n <= 0) throw new EngramError('InvalidArgument', `every-steps n must be a positive integer, got ${p.n}`, { n: p.n });
        break;
      case 'every-seconds':
        if (!Number.isFinite(p.seconds) || p.seconds <= 0) throw new EngramError('InvalidArgument', `every-seconds needs a positive number of seconds, got ${p.seconds}`, { seconds: p.seconds });
        break;
      case 'steps':
        for (const s of p.steps) if (!Number.isSafeInteger(s) || s < 0) throw new EngramError('InvalidArgument', `steps must be non-negative integers, got ${s}`, { step: s });
        break;
      case 'predicate':
        if (typeof p.test !== 'function') throw new EngramError('InvalidArgument', 'a predicate policy needs a test function');
        break;
      default:
        throw new EngramError('InvalidArgument', `unknown save policy ${JSON.stringify((p as { kind?: unknown } | undefined)?.kind)}`);
    }
  }
}

/** The label of a policy, as events print it. */
export function describeSavePolicy(p: SavePolicy): string {
  switch (p.kind) {
    case 'every-steps': return `every ${p.n} steps`;
    case 'every-seconds': return `every ${p.seconds} s`;
    case 'steps': return `steps ${p.steps.join(',')}`;
    case 'predicate': return p.label ?? 'predicate';
  }
}

/**
 * Whether to save at `ctx.step`: yes when any policy says so. A step already saved is not saved
 * again (a resumed loop that repeats its last step does not write a duplicate).
 *
 * @example
 * decideSave([{ kind: 'every-steps', n: 100 }, { kind: 'every-seconds', seconds: 600 }], ctx).save
 */
export function decideSave(policies: readonly SavePolicy[], ctx: SavePolicyContext): SaveDecision {
  if (ctx.lastSavedStep === ctx.step) return { save: false, reason: `step ${ctx.step} is already saved` };
  for (const p of policies) {
    let yes: boolean;
    switch (p.kind) {
      case 'every-steps': yes = ctx.step % p.n === 0; break;
      case 'every-seconds': yes = ctx.secondsSinceLastSave >= p.seconds; break;
      case 'steps': yes = p.steps.includes(ctx.step); break;
      case 'predicate': yes = p.test(ctx); break;
    }
    if (yes) return { save: true, reason: describeSavePolicy(p) };
  }
  return { save: false, reason: 'no save policy matched' };
}
