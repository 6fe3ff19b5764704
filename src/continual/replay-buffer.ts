/**
 * @module ReplayBuffer: a memory of past examples for experience replay — reservoir sampling, a
 * ring (FIFO) or class-balanced reservoir — with its own seeded generator and counters, persisted
 * incrementally in a training state's namespace (replay-record.ts) so that a resumed run admits and
 * samples exactly what an uninterrupted one would.
 */
import { Rng, type RestoredNamespace, type StateNamespace } from '../train/index.ts';
import type { TensorData } from '../tensor/index.ts';
import { invalid, malformed } from './continual-error.ts';
import {
  checkBatch, checkReplayOptions, readLabel, type FieldLayout, type ReplayBufferOptions, type ReplayField, type ReplayKind,
} from './replay-fields.ts';
import { checkReplayRecord, REPLAY_FORMAT, REPLAY_VERSION, rowWidth, segmentTensor, SLOT_BYTES, slotOfRow, type ReplayRecord } from './replay-record.ts';

/** A persisted segment: its rows and its bytes field by field (never changed once made). */
interface Segment {
  readonly rows: number;
  /** U8 [rows, width]: slot (U32 LE), then the fields' bytes. */
  readonly data: Uint8Array;
}

/**
 * Live segments a buffer keeps at most. Every live segment costs one tensor entry in each
 * checkpoint's manifest (about 360 bytes with its chunk and its line in blob `train`), so their
 * number is bounded: beyond it the segments with the fewest held rows are rewritten into the new
 * one whatever that costs. Above {@link SOFT_LIVE_SEGMENTS} they are rewritten only within the
 * compaction budget.
 */
export const MAX_LIVE_SEGMENTS = 8;

/** Live segments above which (budget permitting) the smallest are merged into the new one. */
export const SOFT_LIVE_SEGMENTS = 4;

/** What one live segment adds to each checkpoint's manifest, about (its tensor entry, chunk entry, line in blob `train`). */
const ENTRY_BYTES = 360;

/** Bytes a checkpoint may spend moving held rows out of old segments, per byte of examples admitted since the last. */
export const COMPACTION_BUDGET = 0.15;

/** Slot origin of an example admitted since the last `toNamespace()`. */
const PENDING = -1;

/**
 * A replay buffer of examples made of named fields.
 *
 * - `reservoir`: every example offered so far is held with equal probability capacity / seen
 *   (Vitter's algorithm R).
 * - `ring`: the newest `capacity` examples (first in, first out).
 * - `class-balanced`: class-balanced reservoir sampling (Chrysakis and Moens, 2020): once full, an
 *   example of a class that is not among the largest replaces a random example of a largest class;
 *   one of a largest class replaces a random example of its own class with probability
 *   held / offered for that class.
 *
 * @example
 * const buffer = new ReplayBuffer({ kind: 'reservoir', capacity: 200, seed: 7,
 *   fields: [{ name: 'x', dtype: 'F32', shape: [64] }, { name: 'y', dtype: 'I32', shape: [] }], labelField: 'y' });
 * buffer.admit({ x: xBatch, y: yBatch });
 * const replay = buffer.sample(32);
 * await manager.save(step, { model, namespaces: { replay: buffer.toNamespace() } });
 */
export class ReplayBuffer {
  readonly kind: ReplayKind;
  readonly capacity: number;
  readonly seed: number;
  readonly fields: readonly ReplayField[];
  readonly labelField: string | undefined;
  readonly #layouts: readonly FieldLayout[];
  /** Bytes of one segment row. */
  readonly #width: number;
  readonly #labelIndex: number;
  #rng: Rng;
  #seen = 0;
  #size = 0;
  #cursor = 0;
  /** Held examples, one array per field, `capacity` rows each. */
  readonly #slots: Uint8Array[];
  /** Per slot: the segment its example was persisted in (PENDING if not yet) and its row there. */
  readonly #originSegment: Int32Array;
  readonly #originRow: Int32Array;
  /** Per slot: its class (class-balanced and labelled buffers). */
  readonly #labels: Int32Array;
  readonly #classSeen = new Map<number, number>();
  readonly #segments = new Map<number, Segment>();
  #nextSegment = 0;
  /** Examples admitted since the last toNamespace (they fund compaction). */
  #admittedSince = 0;

  /** An empty buffer; `InvalidArgument` for bad options (capacity ≤ 0, unknown kind or dtype, …). */
  constructor(options: ReplayBufferOptions) {
    const layouts = checkReplayOptions(options);
    this.kind = options.kind;
    this.capacity = options.capacity;
    this.seed = options.seed;
    this.fields = Object.freeze(layouts.map((f) => Object.freeze({ name: f.name, dtype: f.dtype, shape: Object.freeze([...f.shape]) })));
    this.labelField = options.labelField;
    this.#layouts = layouts;
    this.#width = rowWidth(layouts);
    this.#labelIndex = options.labelField === undefined ? -1 : layouts.findIndex((f) => f.name === options.labelField);
    this.#rng = new Rng(options.seed);
    this.#slots = layouts.map((f) => new Uint8Array(f.rowBytes * options.capacity));
    this.#originSegment = new Int32Array(options.capacity).fill(PENDING);
    this.#originRow = new Int32Array(options.capacity);
    this.#labels = new Int32Array(options.capacity);
  }

  /** Examples held. */
  get size(): number {
    return this.#size;
  }

  /** Examples offered so far (admitted or not). */
  get seen(): number {
    return this.#seen;
  }

  /**
   * Offers a batch (fields by name, first dimension = batch) example by example, in order; returns
   * how many were admitted (an example admitted and replaced within the batch counts). The whole
   * batch is checked first: a bad one (`InvalidArgument`: a missing or extra field, a wrong dtype
   * or shape, a label out of 0 … 2^31 − 1) changes nothing.
   */
  admit(batch: Readonly<Record<string, TensorData>>): number {
    const n = checkBatch(this.#layouts, batch);
    const sources = this.#layouts.map((f) => batch[f.name]!.data);
    const labels = new Int32Array(n);
    if (this.#labelIndex >= 0) {
      const f = this.#layouts[this.#labelIndex]!;
      for (let i = 0; i < n; i++) {
        const v = readLabel(f.dtype, sources[this.#labelIndex]!, i * f.rowBytes);
        if (Number.isNaN(v)) throw invalid(`example ${i} of the batch has label out of range in field ${f.name} (labels are integers 0 … 2^31 − 1)`, { field: f.name, example: i });
        labels[i] = v;
      }
    }
    let admitted = 0;
    for (let i = 0; i < n; i++) {
      const slot = this.#slotFor(labels[i]!);
      this.#seen++;
      if (slot < 0) continue;
      for (const [k, f] of this.#layouts.entries()) this.#slots[k]!.set(sources[k]!.subarray(i * f.rowBytes, (i + 1) * f.rowBytes), slot * f.rowBytes);
      this.#originSegment[slot] = PENDING;
      this.#labels[slot] = labels[i]!;
      admitted++;
    }
    this.#admittedSince += admitted;
    return admitted;
  }

  /** The slot the next example (of class `label`) goes to, or −1; counts the example's class. */
  #slotFor(label: number): number {
    const t = this.#seen;
    if (this.kind === 'ring') {
      const slot = this.#cursor;
      this.#cursor = (this.#cursor + 1) % this.capacity;
      if (this.#size < this.capacity) this.#size++;
      return slot;
    }
    if (this.kind === 'reservoir') {
      if (this.#size < this.capacity) return this.#size++;
      const j = t + 1 <= 2 ** 32 ? this.#rng.int(t + 1) : Math.floor(this.#rng.uniform() * (t + 1));
      return j < this.capacity ? j : -1;
    }
    const offered = (this.#classSeen.get(label) ?? 0) + 1;
    this.#classSeen.set(label, offered);
    if (this.#size < this.capacity) return this.#size++;
    const held = this.#countsByClassMap();
    let largest = 0;
    for (const c of held.values()) largest = Math.max(largest, c);
    const mine = held.get(label) ?? 0;
    if (mine < largest) {
      // Replace a random example of one of the largest classes.
      return this.#randomSlot((l) => held.get(l) === largest);
    }
    return this.#rng.int(offered) < mine ? this.#randomSlot((l) => l === label) : -1;
  }

  /** A uniformly random held slot whose class passes `pick`. */
  #randomSlot(pick: (label: number) => boolean): number {
    let count = 0;
    for (let s = 0; s < this.#size; s++) if (pick(this.#labels[s]!)) count++;
    let k = this.#rng.int(count);
    for (let s = 0; s < this.#size; s++) {
      if (pick(this.#labels[s]!) && k-- === 0) return s;
    }
    throw new Error('unreachable: no slot of the chosen class');
  }

  /**
   * `n` examples drawn with the buffer's own generator: without replacement when n ≤ size, with
   * replacement beyond. `InvalidArgument` for a bad n, or n > 0 from an empty buffer.
   */
  sample(n: number): Record<string, TensorData> {
    if (!Number.isSafeInteger(n) || n < 0) throw invalid(`sample needs a non-negative integer count, got ${String(n)}`, { n });
    if (n > 0 && this.#size === 0) throw invalid('cannot sample from an empty replay buffer');
    const picks = new Array<number>(n);
    if (n <= this.#size) {
      // A partial Fisher–Yates shuffle: the first n of a random permutation of the slots.
      const order = Array.from({ length: this.#size }, (_, i) => i);
      for (let i = 0; i < n; i++) {
        const j = i + this.#rng.int(this.#size - i);
        const tmp = order[i]!;
        order[i] = order[j]!;
        order[j] = tmp;
        picks[i] = order[i]!;
      }
    } else {
      for (let i = 0; i < n; i++) picks[i] = this.#rng.int(this.#size);
    }
    return this.#gather(picks);
  }

  /** Every held example, in slot order. */
  contents(): Record<string, TensorData> {
    return this.#gather(Array.from({ length: this.#size }, (_, i) => i));
  }

  #gather(slots: readonly number[]): Record<string, TensorData> {
    const out: Record<string, TensorData> = {};
    for (const [k, f] of this.#layouts.entries()) {
      const data = new Uint8Array(slots.length * f.rowBytes);
      for (const [i, s] of slots.entries()) data.set(this.#slots[k]!.subarray(s * f.rowBytes, (s + 1) * f.rowBytes), i * f.rowBytes);
      out[f.name] = { dtype: f.dtype, shape: [slots.length, ...f.shape], data };
    }
    return out;
  }

  /** Examples held per class, by label (as a string key); `InvalidArgument` without a labelField. */
  countsByClass(): Record<string, number> {
    if (this.#labelIndex < 0) throw invalid('countsByClass needs a buffer with a labelField');
    const out: Record<string, number> = {};
    for (const [l, c] of [...this.#countsByClassMap()].sort((a, b) => a[0] - b[0])) out[String(l)] = c;
    return out;
  }

  /** Examples held per class (needs labels; empty without). */
  #countsByClassMap(): Map<number, number> {
    const held = new Map<number, number>();
    if (this.#labelIndex < 0) return held;
    for (let s = 0; s < this.#size; s++) held.set(this.#labels[s]!, (held.get(this.#labels[s]!) ?? 0) + 1);
    return held;
  }

  /**
   * The buffer as a namespace for `TrainingState.namespaces` (e.g. under `replay`). Incremental:
   * the examples written since the previous call and still held become one new segment tensor;
   * earlier segments keep their names and bytes (so a checkpoint stores them once); a segment none
   * of whose rows is still held is left out. At most {@link MAX_LIVE_SEGMENTS} segments stay live:
   * beyond, the held rows of the segments with the fewest held rows move into the new segment, so
   * the manifest stays small and evicted examples stop being referenced. Each call seals what it
   * persists: call it once per save.
   */
  toNamespace(): StateNamespace {
    const live = this.#liveRows();
    const pending: number[] = [];
    for (let s = 0; s < this.#size; s++) if (this.#originSegment[s] === PENDING) pending.push(s);
    this.#compact(live, pending);
    if (pending.length > 0) {
      const id = this.#nextSegment++;
      const width = this.#width;
      const data = new Uint8Array(pending.length * width);
      const view = new DataView(data.buffer);
      for (const [row, s] of pending.entries()) {
        view.setUint32(row * width, s, true);
        let at = row * width + SLOT_BYTES;
        for (const [k, f] of this.#layouts.entries()) {
          data.set(this.#slots[k]!.subarray(s * f.rowBytes, (s + 1) * f.rowBytes), at);
          at += f.rowBytes;
        }
        this.#originSegment[s] = id;
        this.#originRow[s] = row;
      }
      this.#segments.set(id, { rows: pending.length, data });
    }
    const held = this.#liveRows();
    for (const id of [...this.#segments.keys()]) if (!held.has(id)) this.#segments.delete(id);

    const ids = [...this.#segments.keys()].sort((a, b) => a - b);
    const tensors: Record<string, TensorData> = {};
    for (const id of ids) {
      const seg = this.#segments.get(id)!;
      tensors[segmentTensor(id)] = { dtype: 'U8', shape: [seg.rows, this.#width], data: seg.data };
    }
    const record: ReplayRecord = {
      format: REPLAY_FORMAT, version: REPLAY_VERSION, kind: this.kind, capacity: this.capacity, seed: this.seed,
      labelField: this.labelField ?? null, fields: this.fields.map((f) => ({ name: f.name, dtype: f.dtype, shape: [...f.shape] })),
      seen: this.#seen, size: this.#size, cursor: this.#cursor, rng: this.#rng.getState(), nextSegment: this.#nextSegment,
      segments: ids, classSeen: [...this.#classSeen].sort((a, b) => a[0] - b[0]),
    };
    return { tensors, record: record as unknown as StateNamespace['record'] };
  }

  /**
   * Adds to `pending` the held slots of segments worth rewriting into the new segment: when more
   * than MAX_LIVE_SEGMENTS would be live, or when at most a quarter of a segment's rows are still
   * held (its evicted rows then stop being referenced). Smallest first, and only within a budget of
   * COMPACTION_BUDGET times the bytes admitted since the last call, so a checkpoint never pays
   * much more than its new examples' bytes.
   */
  #compact(live: Map<number, number>, pending: number[]): void {
    let budget = COMPACTION_BUDGET * this.#admittedSince * (this.#width - SLOT_BYTES);
    this.#admittedSince = 0;
    let count = live.size + (pending.length > 0 ? 1 : 0);
    const victims = new Set<number>();
    for (const [id, held] of [...live].sort((a, b) => a[1] - b[1] || a[0] - b[0])) {
      const cost = held * this.#width;
      const forced = count > MAX_LIVE_SEGMENTS;
      const wanted = count > SOFT_LIVE_SEGMENTS || held * 4 <= this.#segments.get(id)!.rows;
      // A merged segment's entry leaves this very manifest: that much of the rewrite is paid back at once.
      if (!forced && !(wanted && cost <= budget + ENTRY_BYTES)) continue;
      victims.add(id);
      budget -= cost - ENTRY_BYTES;
      // Moving rows into the new segment makes one if there was none.
      if (pending.length > 0 || victims.size > 1) count--;
    }
    if (victims.size === 0) return;
    const [only] = victims;
    // One segment rewritten on its own removes no entry: worth it only to drop its evicted rows.
    if (pending.length === 0 && victims.size === 1 && live.get(only!)! * 4 > this.#segments.get(only!)!.rows) return;
    for (let s = 0; s < this.#size; s++) if (victims.has(this.#originSegment[s]!)) pending.push(s);
    pending.sort((a, b) => a - b);
  }

  /** Held rows per persisted segment (slots written since the last toNamespace are not counted). */
  #liveRows(): Map<number, number> {
    const live = new Map<number, number>();
    for (let s = 0; s < this.#size; s++) {
      const seg = this.#originSegment[s]!;
      if (seg !== PENDING) live.set(seg, (live.get(seg) ?? 0) + 1);
    }
    return live;
  }

  /**
   * The buffer a namespace holds, continuing exactly where {@link toNamespace} left it: the same
   * examples in the same slots, counters and generator state. `FormatError` for a namespace that is
   * not a replay buffer, is inconsistent, or was written by a newer engram (`name` is the namespace,
   * for messages).
   */
  static fromNamespace(ns: RestoredNamespace, name = 'replay'): ReplayBuffer {
    if (!ns || typeof ns !== 'object') throw invalid('fromNamespace needs a restored namespace { tensors, record }');
    const { record: r, options, layouts, segments } = checkReplayRecord(ns.record, ns.tensors ?? {}, name);
    const b = new ReplayBuffer(options);
    b.#seen = r.seen;
    b.#size = r.size;
    b.#cursor = r.cursor;
    b.#nextSegment = r.nextSegment;
    try {
      b.#rng = Rng.fromState(r.rng);
    } catch (e) {
      throw malformed(name, `its rng is not valid: ${(e as Error).message}`, 'inconsistent record');
    }
    const width = b.#width;
    // Later segments overwrite earlier ones' slots, as the writes happened.
    for (const [id, bytes] of segments) {
      const data = bytes.slice();
      const rows = data.byteLength / width;
      b.#segments.set(id, { rows, data });
      for (let row = 0; row < rows; row++) {
        const s = slotOfRow(data, width, row);
        let at = row * width + SLOT_BYTES;
        for (const [k, f] of layouts.entries()) {
          b.#slots[k]!.set(data.subarray(at, at + f.rowBytes), s * f.rowBytes);
          at += f.rowBytes;
        }
        b.#originSegment[s] = id;
        b.#originRow[s] = row;
      }
    }
    const held = b.#liveRows();
    for (const id of [...b.#segments.keys()]) if (!held.has(id)) b.#segments.delete(id);
    if (b.#labelIndex >= 0) {
      const f = layouts[b.#labelIndex]!;
      for (let s = 0; s < b.#size; s++) {
        const v = readLabel(f.dtype, b.#slots[b.#labelIndex]!, s * f.rowBytes);
        if (Number.isNaN(v)) throw malformed(name, `slot ${s} holds a label out of range`, 'inconsistent record');
        b.#labels[s] = v;
      }
    }
    for (const [label, count] of r.classSeen) b.#classSeen.set(label, count);
    return b;
  }
}

