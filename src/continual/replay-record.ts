/**
 * @module The namespace of a {@link ReplayBuffer}: segment tensors and a small record, and the
 * checks on the way back in. See docs/ARCHITECTURE.md "Continual learning".
 *
 * Tensors: `seg-<id>`, U8 `[rows, 4 + Σ field bytes]`: each row is one example — the slot it was
 * written to (U32 little-endian), then its fields' bytes in the fields' order. A segment is the
 * examples written between two `toNamespace()` calls that were still held at the second one; its
 * bytes never change afterwards, so later checkpoints list it under the same name with the same
 * bytes (its chunks are reused), and it is left out once none of its rows is the latest write to
 * its slot. Replaying the live segments in id order rebuilds every slot; the record therefore holds
 * counters, the generator and the live ids only, and its size does not grow with the buffer.
 */
import type { RngState } from '../train/index.ts';
import type { JsonValue, TensorData } from '../tensor/index.ts';
import { checkRecordHeader, isCount, malformed } from './continual-error.ts';
import { checkReplayOptions, type FieldLayout, type ReplayBufferOptions, type ReplayField, type ReplayKind } from './replay-fields.ts';

/** The `format` of a replay buffer's record. */
export const REPLAY_FORMAT = 'engram.replay-buffer';
/** The record version this build writes and reads. */
export const REPLAY_VERSION = 1;
/** Bytes of the slot column at the start of each segment row. */
export const SLOT_BYTES = 4;

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
  /** Live segment ids, ascending (tensors `seg-<id>`). */
  readonly segments: readonly number[];
  /** Class-balanced: examples offered per class, `[label, count]` by label. */
  readonly classSeen: readonly (readonly [number, number])[];
}

/** The tensor name of a segment. */
export const segmentTensor = (id: number): string => `seg-${id}`;

/** Bytes of one segment row for `layouts`. */
export const rowWidth = (layouts: readonly FieldLayout[]): number => layouts.reduce((a, f) => a + f.rowBytes, SLOT_BYTES);

/** A record checked against itself and its namespace's tensors. */
export interface CheckedRecord {
  readonly record: ReplayRecord;
  readonly options: ReplayBufferOptions;
  readonly layouts: FieldLayout[];
  /** Segment bytes by id, ascending. */
  readonly segments: Map<number, Uint8Array>;
}

/** The slot written by row `row` of a segment. */
export function slotOfRow(segment: Uint8Array, width: number, row: number): number {
  return new DataView(segment.buffer, segment.byteOffset + row * width, SLOT_BYTES).getUint32(0, true);
}

/** Reads and checks a replay record and its tensors; `FormatError` for anything inconsistent. */
export function checkReplayRecord(value: JsonValue | undefined, tensors: Readonly<Record<string, TensorData>>, namespace = 'replay'): CheckedRecord {
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
  if (!Array.isArray(r.segments) || !Array.isArray(r.classSeen)) throw bad('segments and classSeen must be lists');
  const width = rowWidth(layouts);
  const segments = new Map<number, Uint8Array>();
  let last = -1;
  const covered = new Uint8Array(r.size);
  for (const id of r.segments) {
    if (!isCount(id) || id <= last || id >= r.nextSegment) throw bad(`segment id ${JSON.stringify(id)} is not ascending below nextSegment ${r.nextSegment}`);
    last = id;
    const name = segmentTensor(id);
    const t = tensors[name];
    if (!t) throw bad(`tensor ${name} is missing`, 'missing tensor');
    if (t.dtype !== 'U8' || t.shape.length !== 2 || t.shape[1] !== width || !(t.shape[0]! > 0) || t.data.byteLength !== t.shape[0]! * width) {
      throw bad(`tensor ${name} is ${t.dtype}[${t.shape.join(', ')}], not U8[rows, ${width}]`, 'tensor layout');
    }
    for (let row = 0; row < t.shape[0]!; row++) {
      const slot = slotOfRow(t.data, width, row);
      if (slot >= r.size) throw bad(`row ${row} of ${name} writes slot ${slot}, beyond size ${r.size}`);
      covered[slot] = 1;
    }
    segments.set(id, t.data);
  }
  const hole = covered.indexOf(0);
  if (hole >= 0) throw bad(`no segment writes slot ${hole} (size ${r.size})`);
  for (const c of r.classSeen) {
    if (!Array.isArray(c) || c.length !== 2 || !isCount(c[0]) || !isCount(c[1])) throw bad(`classSeen entry ${JSON.stringify(c)} is not [label, count]`);
  }
  return { record: r, options, layouts, segments };
}
