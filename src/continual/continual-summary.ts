/**
 * @module describeContinualState: what a snapshot holds of continual learning — replay buffers,
 * EWC terms, the task registry — read from the namespaces' records (and a replay buffer's label
 * tensors for its per-class counts), for `engram show` and `engram tasks`. Nothing else is loaded.
 */
import type { Snapshot } from '../repo/index.ts';
import type { TensorData } from '../tensor/index.ts';
import { decodeStateJson } from '../train/index.ts';
import { malformed } from './continual-error.ts';
import { checkEwcNamespace, EWC_FORMAT, type EwcRecord } from './ewc-record.ts';
import { readLabel, type ReplayField, type ReplayKind } from './replay-fields.ts';
import { checkReplayRecord, REPLAY_FORMAT, rowWidth, segmentTensor, SLOT_BYTES, slotOfRow } from './replay-record.ts';
import type { TaskMeasures } from './task-measures.ts';
import { TaskRegistry, TASKS_FORMAT } from './task-registry.ts';

/** A replay buffer as {@link describeContinualState} reports it. */
export interface ReplaySummary {
  readonly namespace: string;
  readonly kind: ReplayKind;
  readonly capacity: number;
  readonly size: number;
  readonly seen: number;
  readonly fields: readonly ReplayField[];
  readonly labelField: string | null;
  /** Examples held per class (by label), when the buffer has a labelField. */
  readonly countsByClass: Readonly<Record<string, number>> | null;
  /** Live segments (tensor groups) and their rows in all. */
  readonly segments: number;
  readonly segmentRows: number;
}

/** EWC state as {@link describeContinualState} reports it. */
export interface EwcSummary {
  readonly mode: 'per-task' | 'online';
  readonly lambda: number;
  readonly gamma: number;
  /** Consolidated tasks, in order. */
  readonly tasks: readonly string[];
  readonly namespaces: readonly string[];
  /** Weights the penalty covers (of the first term). */
  readonly weights: readonly string[];
}

/** A task registry as {@link describeContinualState} reports it. */
export interface TasksSummary {
  readonly namespace: string;
  readonly tasks: readonly { readonly id: string; readonly classes: readonly number[]; readonly embedding: boolean }[];
  readonly matrix: readonly (readonly (number | null)[])[];
  readonly measures: TaskMeasures;
}

/** Everything continual a snapshot holds; empty lists / null where it holds none. */
export interface ContinualSummary {
  readonly snapshot: string;
  readonly replay: readonly ReplaySummary[];
  readonly ewc: EwcSummary | null;
  readonly tasks: TasksSummary | null;
}

/** Namespace names of the training state `snap` holds (meta `train`), falling back to its blobs. */
function namespaceNames(snap: Snapshot): string[] {
  const train = snap.meta.train;
  const listed = train && typeof train === 'object' && !Array.isArray(train) ? (train as Record<string, unknown>).namespaces : undefined;
  if (Array.isArray(listed)) return listed.filter((n): n is string => typeof n === 'string' && snap.blobNames().includes(n));
  return snap.blobNames().filter((n) => !['train', 'rng', 'data'].includes(n));
}

async function replaySummary(snap: Snapshot, namespace: string, record: unknown): Promise<ReplaySummary> {
  const r = record as { segments?: unknown };
  const tensors: Record<string, TensorData> = {};
  for (const id of Array.isArray(r?.segments) ? r.segments : []) {
    const name = `${namespace}/${segmentTensor(id as number)}`;
    if (snap.tensorNames().includes(name)) tensors[segmentTensor(id as number)] = await snap.tensor(name);
  }
  const c = checkReplayRecord(record as Parameters<typeof checkReplayRecord>[0], tensors, namespace);
  let counts: Record<string, number> | null = null;
  const li = c.layouts.findIndex((f) => f.name === c.record.labelField);
  const width = rowWidth(c.layouts);
  if (li >= 0) {
    const f = c.layouts[li]!;
    const offset = SLOT_BYTES + c.layouts.slice(0, li).reduce((a, l) => a + l.rowBytes, 0);
    // The latest write to each slot is what the buffer holds (segments in id order).
    const labels = new Float64Array(c.record.size);
    for (const data of c.segments.values()) {
      for (let row = 0; row < data.byteLength / width; row++) labels[slotOfRow(data, width, row)] = readLabel(f.dtype, data, row * width + offset);
    }
    const held = new Map<number, number>();
    for (const v of labels) held.set(v, (held.get(v) ?? 0) + 1);
    counts = Object.fromEntries([...held].sort((a, b) => a[0] - b[0]).map(([l, n]) => [String(l), n]));
  }
  return {
    namespace, kind: c.record.kind, capacity: c.record.capacity, size: c.record.size, seen: c.record.seen,
    fields: c.record.fields, labelField: c.record.labelField, countsByClass: counts,
    segments: c.segments.size, segmentRows: [...c.segments.values()].reduce((a, d) => a + d.byteLength / width, 0),
  };
}

/**
 * Reads every continual-learning namespace of a snapshot's training state: replay buffers (any
 * namespace whose record is a replay buffer's), the `ewc/…` namespaces, the task registry.
 * `FormatError` for a malformed or newer record; namespaces of other kinds are left out.
 *
 * @example
 * const s = await describeContinualState(await repo.snapshot('cl@latest'));
 * s.replay[0]?.countsByClass; s.tasks?.measures.acc;
 */
export async function describeContinualState(snapshot: Snapshot): Promise<ContinualSummary> {
  const replay: ReplaySummary[] = [];
  const ewcRecords: { name: string; record: EwcRecord }[] = [];
  let tasks: TasksSummary | null = null;
  for (const name of namespaceNames(snapshot)) {
    const record = decodeStateJson(await snapshot.blob(name), `blob ${name} of snapshot ${snapshot.id}`);
    const format = record && typeof record === 'object' && !Array.isArray(record) ? (record as Record<string, unknown>).format : undefined;
    if (format === REPLAY_FORMAT) replay.push(await replaySummary(snapshot, name, record));
    else if (format === EWC_FORMAT) {
      // Checked against the tensors' layouts from the manifest; no Fisher or anchor bytes are read.
      const layouts: Record<string, TensorData> = {};
      for (const t of snapshot.tensorNames()) {
        if (!t.startsWith(`${name}/`)) continue;
        const info = snapshot.tensorInfo(t);
        layouts[t.slice(name.length + 1)] = { dtype: info.dtype, shape: info.shape, data: new Uint8Array(0) };
      }
      ewcRecords.push({ name, record: checkEwcNamespace(name, record as Parameters<typeof checkEwcNamespace>[1], layouts).record });
    }
    else if (format === TASKS_FORMAT && tasks === null) {
      const reg = TaskRegistry.fromRecord(record as Parameters<typeof TaskRegistry.fromRecord>[0], name, () => undefined, false);
      const listed = (record as unknown as { tasks: { embedding: unknown }[] }).tasks;
      tasks = {
        namespace: name, tasks: reg.tasks.map((t, i) => ({ id: t.id, classes: t.classes, embedding: listed[i]?.embedding != null })),
        matrix: reg.matrix(), measures: reg.measures(),
      };
    }
  }
  let ewc: EwcSummary | null = null;
  if (ewcRecords.length > 0) {
    const first = ewcRecords[0]!.record;
    if (ewcRecords.some(({ record: r }) => r.mode !== first.mode || r.lambda !== first.lambda || r.gamma !== first.gamma)) {
      throw malformed(ewcRecords[0]!.name, 'the ewc namespaces disagree on lambda, mode or gamma', 'inconsistent namespaces');
    }
    const ordered = [...ewcRecords].sort((a, b) => (a.record.order ?? 0) - (b.record.order ?? 0));
    ewc = {
      mode: first.mode, lambda: first.lambda, gamma: first.gamma,
      tasks: first.mode === 'online' ? [...(first.tasks ?? [])] : ordered.map((e) => e.record.task ?? e.name),
      namespaces: ordered.map((e) => e.name), weights: [...(Array.isArray(first.weights) ? first.weights : [])],
    };
  }
  return { snapshot: snapshot.id, replay, ewc, tasks };
}
