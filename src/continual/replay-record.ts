/**
 * @module The record a {@link ReplayBuffer} keeps in its namespace, next to its segment tensors,
 * and its checks on the way back in. See docs/ARCHITECTURE.md "Continual learning".
 *
 * Tensors: `seg-<id>/<field>`, `[rows, ...field shape]`, one group per live segment. A segment is
 * the examples admitted between two `toNamespace()` calls that were still held at the second one;
 * its bytes never change afterwards, so later checkpoints list it under the same name with the same
 * bytes (its chunks deduplicate), and it is left out once no slot refers to it.
 */
import type { RngState } from '../train/index.ts';
import type { JsonValue, TensorData } from '../tensor/index.ts';
import { checkRecordHeader, isCount, malformed } from './continual-error.ts';
import { checkReplayOptions, type FieldLayout, type ReplayBufferOptions, type ReplayField, type ReplayKind } from './replay-fields.ts';

/** The `format` of a replay buffer's record. */
export const REPLAY_FORMAT = 'engram.replay-buffer';
/** The record version this build writes and reads. */
export const REPLAY_VERSION = 1;

/** A run of slots filled from consecutive rows of one segment: `[segment, first row, slots]`. */
export type SlotRun = readonly [number, number, number];

/** What the record holds. */
export interface ReplayRecord {
  readonly format: typeof REPLAY_FORMAT;
  readonly version: number;
  readonly kind: ReplayKind;
  readonly capacity: number;
  readonly seed: number;
  readonly labelField: string | null;
  readonly fields: readonly ReplayField[];
  /** Examples offered so far. */
  readonly seen: number;
  /** Examples held (slots 0 … size − 1). */
  readonly size: number;
  /** The ring's next slot (0 for the other kinds). */
  readonly cursor: number;
  readonly rng: RngState;
  /** The id the next segment gets: ids are never reused, so a name always means the same bytes. */
  readonly nextSegment: number;
  /** Live segments, by id, with their row counts. */
  readonly segments: readonly { readonly id: number; readonly rows: number }[];
  /** Where each held slot's example lives, as runs in slot order. */
  readonly slots: readonly SlotRun[];
  /** Class-balanced: examples offered per class, `[label, count]` by label. */
  readonly classSeen: readonly (readonly [number, number])[];
}

/** The tensor name of a segment's field. */
export const segmentTensor = (id: number, field: string): string => `seg-${id}/${field}`;

/** A record checked against itself and its namespace's tensors. */
export interface CheckedRecord {
  readonly record: ReplayRecord;
  readonly options: ReplayBufferOptions;
  readonly layouts: FieldLayout[];
  /** Segment bytes by id, field by field, in the fields' order. */
  readonly segments: Map<number, { rows: number; data: Uint8Array[] }>;
}

const NS = 'replay';

/** Reads and checks a replay record and its tensors; `FormatError` for anything inconsistent. */
export function checkReplayRecord(value: JsonValue | undefined, tensors: Readonly<Record<string, TensorData>>, namespace = NS): CheckedRecord {
  const r = checkRecordHeader(value, namespace, REPLAY_FORMAT, REPLAY_VERSION) as unknown as ReplayRecord;
  const bad = (msg: string, reason = 'inconsistent record'): Error => malformed(namespace, msg, reason);
  const options: ReplayBufferOptions = {
    kind: r.kind, capacity: r.capacity, seed: r.seed, fields: r.fields,
    ...(r.labelField !== null && r.labelField !== undefined ? { labelField: r.labelField } : {}),
  };
  let layouts: FieldLayout[];
  try {
    layouts = checkReplayOptions(options);
  } catch (e) {
    throw bad(`its options are not valid: ${(e as Error).message}`);
  }
  for (const k of ['seen', 'size', 'cursor', 'nextSegment'] as const) if (!isCount(r[k])) throw bad(`${k} is not a count`);
  if (r.size > r.capacity || r.size > r.seen) throw bad(`size ${r.size} exceeds capacity ${r.capacity} or seen ${r.seen}`);
  if (r.cursor >= r.capacity) throw bad(`cursor ${r.cursor} is outside capacity ${r.capacity}`);
  if (!Array.isArray(r.segments) || !Array.isArray(r.slots) || !Array.isArray(r.classSeen)) throw bad('segments, slots and classSeen must be lists');

  const segments = new Map<number, { rows: number; data: Uint8Array[] }>();
  for (const s of r.segments) {
    if (!isCount(s?.id) || !isCount(s.rows) || s.rows === 0 || s.id >= r.nextSegment || segments.has(s.id)) throw bad(`segment ${JSON.stringify(s)} is not valid`);
    const data = layouts.map((f) => {
      const name = segmentTensor(s.id, f.name);
      const t = tensors[name];
      if (!t) throw bad(`tensor ${name} is missing`, 'missing tensor');
      if (t.dtype !== f.dtype || t.shape.length !== f.shape.length + 1 || t.shape[0] !== s.rows || f.shape.some((d, i) => t.shape[i + 1] !== d) || t.data.byteLength !== s.rows * f.rowBytes) {
        throw bad(`tensor ${name} is ${t.dtype}[${t.shape.join(', ')}], not ${f.dtype}[${[s.rows, ...f.shape].join(', ')}]`, 'tensor layout');
      }
      return t.data;
    });
    segments.set(s.id, { rows: s.rows, data });
  }
  let covered = 0;
  const used = new Set<string>();
  for (const run of r.slots) {
    if (!Array.isArray(run) || run.length !== 3 || !run.every(isCount) || run[2] === 0) throw bad(`slot run ${JSON.stringify(run)} is not [segment, row, count]`);
    const seg = segments.get(run[0]);
    if (!seg || run[1] + run[2] > seg.rows) throw bad(`slot run ${JSON.stringify(run)} points outside its segment`);
    for (let k = 0; k < run[2]; k++) {
      const key = `${run[0]}:${run[1] + k}`;
      if (used.has(key)) throw bad(`row ${key} fills two slots`);
      used.add(key);
    }
    covered += run[2];
  }
  if (covered !== r.size) throw bad(`slot runs cover ${covered} slots, size is ${r.size}`);
  for (const c of r.classSeen) {
    if (!Array.isArray(c) || c.length !== 2 || !isCount(c[0]) || !isCount(c[1])) throw bad(`classSeen entry ${JSON.stringify(c)} is not [label, count]`);
  }
  return { record: r, options, layouts, segments };
}
