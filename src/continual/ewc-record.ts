/**
 * @module How {@link Ewc} lies in a training state's namespaces, and the checks on the way back.
 *
 * Per-task mode: one namespace `ewc/<task>` per consolidated task, tensors `fisher/<weight>` and
 * `anchor/<weight>`, record `{format, version, lambda, mode, gamma, task, order, weights}`. Online
 * mode: one namespace `ewc/online` with the running Fisher and the latest anchor, record `{…, tasks,
 * weights}`. The anchor tensors are the very bytes the caller passed (the model's weights at the
 * task boundary), so in a checkpoint of that step they deduplicate against `model/<weight>`.
 */
import type { JsonValue, TensorData } from '../tensor/index.ts';
import { checkRecordHeader, isCount, malformed } from './continual-error.ts';

/** The `format` of an EWC namespace's record. */
export const EWC_FORMAT = 'engram.ewc';
/** The record version this build writes and reads. */
export const EWC_VERSION = 1;
/** The namespace prefix (`ewc/<task>`, `ewc/online`). */
export const EWC_PREFIX = 'ewc/';
/** The namespace of online EWC. */
export const EWC_ONLINE = 'ewc/online';

/** One EWC namespace's record. */
export interface EwcRecord {
  readonly format: typeof EWC_FORMAT;
  readonly version: number;
  readonly lambda: number;
  readonly mode: 'per-task' | 'online';
  readonly gamma: number;
  /** Weight names in order (tensors `fisher/<w>` and `anchor/<w>`). */
  readonly weights: readonly string[];
  /** Per-task: the task and its position among consolidated tasks. */
  readonly task?: string;
  readonly order?: number;
  /** Online: every task folded into the running Fisher, in order. */
  readonly tasks?: readonly string[];
}

/** A checked EWC namespace: its record and its Fisher and anchor tensors by weight. */
export interface CheckedEwc {
  readonly name: string;
  readonly record: EwcRecord;
  readonly fisher: Record<string, TensorData>;
  readonly anchor: Record<string, TensorData>;
}

/** Checks one EWC namespace; `FormatError` for anything inconsistent or newer. */
export function checkEwcNamespace(name: string, record: JsonValue | undefined, tensors: Readonly<Record<string, TensorData>>): CheckedEwc {
  const r = checkRecordHeader(record, name, EWC_FORMAT, EWC_VERSION) as unknown as EwcRecord;
  const bad = (msg: string, reason = 'inconsistent record'): Error => malformed(name, msg, reason);
  if (typeof r.lambda !== 'number' || !(r.lambda >= 0) || !Number.isFinite(r.lambda)) throw bad(`lambda ${String(r.lambda)} is not a non-negative number`);
  if (r.mode !== 'per-task' && r.mode !== 'online') throw bad(`mode ${JSON.stringify(r.mode)} is not per-task or online`);
  if (typeof r.gamma !== 'number' || !(r.gamma > 0 && r.gamma <= 1)) throw bad(`gamma ${String(r.gamma)} is not in (0, 1]`);
  if (!Array.isArray(r.weights) || r.weights.some((w) => typeof w !== 'string' || w === '')) throw bad('weights is not a list of names');
  if (r.mode === 'per-task' && (typeof r.task !== 'string' || !isCount(r.order) || name !== EWC_PREFIX + r.task)) throw bad('a per-task record needs its task (matching the namespace name) and order');
  if (r.mode === 'online' && (name !== EWC_ONLINE || !Array.isArray(r.tasks) || r.tasks.some((t) => typeof t !== 'string'))) throw bad('an online record lives in ewc/online and lists its tasks');
  const fisher: Record<string, TensorData> = {};
  const anchor: Record<string, TensorData> = {};
  for (const w of r.weights) {
    const f = tensors[`fisher/${w}`];
    const a = tensors[`anchor/${w}`];
    if (!f || !a) throw bad(`tensors fisher/${w} and anchor/${w} must both be there`, 'missing tensor');
    if (f.dtype !== 'F32' || a.dtype !== 'F32' || f.shape.length !== a.shape.length || f.shape.some((d, i) => a.shape[i] !== d)) {
      throw bad(`fisher/${w} and anchor/${w} must be F32 tensors of one shape`, 'tensor layout');
    }
    fisher[w] = f;
    anchor[w] = a;
  }
  if (Object.keys(tensors).length !== 2 * r.weights.length) throw bad('holds tensors its record does not list', 'unlisted tensor');
  return { name, record: r, fisher, anchor };
}
