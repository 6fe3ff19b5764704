/**
 * @module The forgetting guard: moves a tag onto a candidate checkpoint only when the candidate's
 * task registry shows no earlier task forgotten beyond a tolerance (and, when asked, the mean
 * forgetting F within a bound). A refusal is an expected outcome, returned as a finding that names
 * the task and the drop (the style of train/'s guardPromotion), never thrown; the tag stays.
 */
import { isEngramError } from '../errors/index.ts';
import type { RefEvent, Repository, Snapshot } from '../repo/index.ts';
import { decodeStateJson } from '../train/index.ts';
import { invalid } from './continual-error.ts';
import { lastTrained, taskDrops, type TaskMeasures } from './task-measures.ts';
import { TaskRegistry } from './task-registry.ts';

/** Options of {@link guardForgetting}. */
export interface ForgettingGuardOptions {
  /** The tag to move (`prod`, `best`, …). */
  readonly tag: string;
  /** The checkpoint to promote: any ref (`run@latest`, an id, …). */
  readonly candidate: string;
  /**
   * How far below its best (max_{l<T} R[l][j]) an earlier task's accuracy may fall. Checked unless
   * only `maxForgetting` is given; default 0.
   */
  readonly tolerance?: number;
  /** Refuse when the mean forgetting F exceeds this. */
  readonly maxForgetting?: number;
  /** The candidate's task-registry namespace (default `tasks`). */
  readonly namespace?: string;
  /** Message of the tag move event. */
  readonly message?: string;
}

/** An earlier task's fall from its best, as the finding names it. */
export interface ForgottenTask {
  readonly task: string;
  /** best − now. */
  readonly drop: number;
  readonly best: number;
  /** The task after whose training the best was measured. */
  readonly bestAfter: string;
  readonly now: number;
}

/** What {@link guardForgetting} decided. */
export interface ForgettingFinding {
  /**
   * `promoted`: the tag now points at the candidate. `forgotten`: refused, an earlier task fell
   * beyond the tolerance or F beyond maxForgetting. `unmeasured`: refused, the candidate has no task
   * registry or no recorded accuracy. `unchanged`: the tag already points at the candidate.
   */
  readonly outcome: 'promoted' | 'forgotten' | 'unmeasured' | 'unchanged';
  readonly promoted: boolean;
  readonly tag: string;
  readonly candidate: { readonly id: string; readonly run: string; readonly step: number };
  /** The tag's target before, if the tag existed (and its snapshot still does). */
  readonly current: string | null;
  /** The tolerance checked (null when only maxForgetting is). */
  readonly tolerance: number | null;
  readonly maxForgetting: number | null;
  /** The last task trained (row T), when measured. */
  readonly lastTask: string | null;
  readonly measures: TaskMeasures | null;
  /** The earlier task that fell the most (null when none fell or nothing is measured). */
  readonly worst: ForgottenTask | null;
  /** Every earlier task whose fall exceeds the tolerance. */
  readonly forgotten: readonly ForgottenTask[];
  readonly message: string;
  /** The tag move, when promoted. */
  readonly event?: RefEvent;
}

/** The task registry of `snap`'s namespace `namespace` (record only), or undefined when it has none. */
export async function readTaskRegistry(snap: Snapshot, namespace = 'tasks'): Promise<TaskRegistry | undefined> {
  if (!snap.blobNames().includes(namespace)) return undefined;
  const record = decodeStateJson(await snap.blob(namespace), `blob ${namespace} of snapshot ${snap.id}`);
  return TaskRegistry.fromRecord(record as Parameters<typeof TaskRegistry.fromRecord>[0], namespace, () => undefined, false);
}

/**
 * Moves `tag` onto `candidate` unless an earlier task was forgotten (see {@link ForgettingGuardOptions}),
 * and says what it did. Throws only for misuse, a malformed registry (`FormatError`) and I/O faults
 * (an unknown candidate is `NotFound`).
 *
 * @example
 * const f = await guardForgetting(repo, { tag: 'prod', candidate: 'cl@latest', tolerance: 0.05 });
 * if (!f.promoted) console.warn(f.message); // names the forgotten task and the drop
 */
export async function guardForgetting(repo: Repository, options: ForgettingGuardOptions): Promise<ForgettingFinding> {
  if (!options || typeof options !== 'object') throw invalid('guardForgetting needs options { tag, candidate }');
  const { tag } = options;
  const checkTolerance = options.tolerance !== undefined || options.maxForgetting === undefined;
  const tolerance = options.tolerance ?? 0;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) throw invalid(`tolerance must be a non-negative number, got ${String(tolerance)}`, { tolerance });
  const maxF = options.maxForgetting;
  if (maxF !== undefined && (typeof maxF !== 'number' || !Number.isFinite(maxF))) throw invalid(`maxForgetting must be a finite number, got ${String(maxF)}`, { maxForgetting: maxF });
  const snap = await repo.snapshot(await repo.resolve(options.candidate));
  const candidate = { id: snap.id, run: snap.run, step: snap.step };
  let current: string | null = null;
  const currentId = await repo.refs.resolve(tag);
  if (currentId !== undefined) {
    try {
      current = (await repo.manifest(currentId)).id;
    } catch (e) {
      if (!isEngramError(e, 'NotFound')) throw e;
    }
  }
  const at = `${snap.run}@${snap.step} (${snap.id})`;
  const base = { tag, candidate, current, tolerance: checkTolerance ? tolerance : null, maxForgetting: maxF ?? null };
  if (current === candidate.id) {
    return { ...base, outcome: 'unchanged', promoted: false, lastTask: null, measures: null, worst: null, forgotten: [], message: `tag ${tag} already points at ${at}` };
  }
  const namespace = options.namespace ?? 'tasks';
  const reg = await readTaskRegistry(snap, namespace);
  const r = reg?.matrix() ?? [];
  const t = lastTrained(r);
  if (!reg || t < 0) {
    return {
      ...base, outcome: 'unmeasured', promoted: false, lastTask: null, measures: null, worst: null, forgotten: [],
      message: `refused to move tag ${tag} to ${at}: it has ${reg ? 'no recorded accuracy' : `no task registry (namespace ${namespace})`}`,
    };
  }
  const ids = reg.tasks.map((x) => x.id);
  const drops = taskDrops(r).map((d): ForgottenTask => ({ task: ids[d.index]!, drop: d.drop, best: d.best, bestAfter: ids[d.bestAfter]!, now: d.now }));
  const worst = drops.reduce<ForgottenTask | null>((w, d) => (d.drop > 0 && (w === null || d.drop > w.drop) ? d : w), null);
  const forgotten = checkTolerance ? drops.filter((d) => d.drop > tolerance) : [];
  const measures = reg.measures();
  const more = { lastTask: ids[t]!, measures, worst, forgotten };
  const fmt = (x: number): string => String(Math.round(x * 1e6) / 1e6);
  const fTooHigh = maxF !== undefined && measures.forgetting !== null && measures.forgetting > maxF;
  if (forgotten.length > 0 || fTooHigh) {
    const w = forgotten.length > 0 ? forgotten.reduce((a, b) => (b.drop > a.drop ? b : a)) : worst;
    const why = forgotten.length > 0
      ? `task ${w!.task} fell from ${fmt(w!.best)} (after ${w!.bestAfter}) to ${fmt(w!.now)} after ${ids[t]}, a drop of ${fmt(w!.drop)} (tolerance ${fmt(tolerance)})`
      : `mean forgetting F = ${fmt(measures.forgetting!)} exceeds ${fmt(maxF!)}${w ? `; task ${w.task} fell the most, by ${fmt(w.drop)}` : ''}`;
    return { ...base, ...more, worst: w, outcome: 'forgotten', promoted: false, message: `refused to move tag ${tag} to ${at}: ${why}` };
  }
  const why = `no earlier task forgotten after ${ids[t]}${worst ? ` (largest drop ${fmt(worst.drop)}, task ${worst.task})` : ''}; F = ${measures.forgetting === null ? 'n/a' : fmt(measures.forgetting)}`;
  const event = await repo.tag(tag, candidate.id, options.message ?? `promote: ${why}`);
  return { ...base, ...more, outcome: 'promoted', promoted: true, event, message: `moved tag ${tag} to ${at}: ${why}` };
}

