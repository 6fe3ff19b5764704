/**
 * @module TaskRegistry: the tasks a continual run has seen, in training order, each with its
 * classes and an optional embedding, and the accuracy matrix R recorded as the run goes. Persisted
 * as one namespace (by convention `tasks`): record `{format, version, tasks: [{id, classes,
 * embedding}], accuracy: R with nulls}`, tensors `embedding/<task index>`.
 */
import type { RestoredNamespace, StateNamespace } from '../train/index.ts';
import type { JsonValue, TensorData } from '../tensor/index.ts';
import { byteLengthOf, isDType } from '../tensor/index.ts';
import { checkRecordHeader, invalid, isCount, malformed } from './continual-error.ts';
import { taskMeasures, type TaskMeasures } from './task-measures.ts';

/** The `format` of a task registry's record. */
export const TASKS_FORMAT = 'engram.task-registry';
/** The record version this build writes and reads. */
export const TASKS_VERSION = 1;

/** One task: its id, its classes (non-negative integers), an optional embedding tensor. */
export interface TaskInfo {
  readonly id: string;
  readonly classes: readonly number[];
  readonly embedding?: TensorData;
}

/** What the record holds. */
export interface TaskRecord {
  readonly format: typeof TASKS_FORMAT;
  readonly version: number;
  readonly tasks: readonly { readonly id: string; readonly classes: readonly number[]; readonly embedding: { readonly dtype: string; readonly shape: readonly number[] } | null }[];
  /** R, tasks × tasks, null where nothing was recorded. */
  readonly accuracy: readonly (readonly (number | null)[])[];
}

const embeddingName = (i: number): string => `embedding/${i}`;

function checkTask(task: TaskInfo, known: readonly TaskInfo[]): TaskInfo {
  if (!task || typeof task !== 'object') throw invalid('a task is { id, classes, embedding? }');
  if (typeof task.id !== 'string' || task.id === '' || task.id.length > 128) throw invalid(`a task id is a non-empty string of at most 128 characters, got ${JSON.stringify(task.id)}`, { task: task.id });
  if (known.some((t) => t.id === task.id)) throw invalid(`task ${task.id} is already registered`, { task: task.id });
  if (!Array.isArray(task.classes) || task.classes.some((c) => !isCount(c) || c > 2 ** 31 - 1)) throw invalid(`task ${task.id}: classes must be integers 0 … 2^31 − 1`, { task: task.id });
  if (new Set(task.classes).size !== task.classes.length) throw invalid(`task ${task.id} lists a class twice`, { task: task.id });
  const e = task.embedding;
  if (e !== undefined) {
    if (!e || typeof e.dtype !== 'string' || !isDType(e.dtype) || !Array.isArray(e.shape) || !(e.data instanceof Uint8Array) || e.data.byteLength !== byteLengthOf(e.dtype, e.shape)) {
      throw invalid(`task ${task.id}: the embedding must be a tensor { dtype, shape, data } whose bytes match its shape`, { task: task.id });
    }
  }
  return { id: task.id, classes: [...task.classes], ...(e ? { embedding: { dtype: e.dtype, shape: [...e.shape], data: e.data.slice() } } : {}) };
}

/**
 * Tasks in training order and their accuracy matrix.
 *
 * @example
 * const reg = new TaskRegistry();
 * reg.addTask({ id: 't0', classes: [0, 1] });
 * reg.recordAccuracy('t0', 't0', 0.99);
 * reg.measures(); // { acc: 0.99, bwt: null, forgetting: null }
 */
export class TaskRegistry {
  readonly #tasks: TaskInfo[] = [];
  /** R by task index; rows and columns grow as tasks are added. */
  readonly #r: (number | null)[][] = [];

  /** Registers the next task (the order of addition is the training order); `InvalidArgument` for a bad or repeated one. */
  addTask(task: TaskInfo): void {
    this.#tasks.push(checkTask(task, this.#tasks));
    for (const row of this.#r) row.push(null);
    this.#r.push(new Array<number | null>(this.#tasks.length).fill(null));
  }

  /** The tasks, in order. */
  get tasks(): readonly TaskInfo[] {
    return [...this.#tasks];
  }

  #index(id: string, what: string): number {
    const i = this.#tasks.findIndex((t) => t.id === id);
    if (i < 0) throw invalid(`${what} ${JSON.stringify(id)} is not a registered task (tasks: ${this.#tasks.map((t) => t.id).join(', ') || 'none'})`, { task: id });
    return i;
  }

  /** Records R[i][j]: accuracy (finite, in [0, 1]) on task `onTask` after training `afterTask`; a later call overwrites. */
  recordAccuracy(afterTask: string, onTask: string, accuracy: number): void {
    const i = this.#index(afterTask, 'afterTask');
    const j = this.#index(onTask, 'onTask');
    if (typeof accuracy !== 'number' || !Number.isFinite(accuracy) || accuracy < 0 || accuracy > 1) throw invalid(`accuracy must be a number in [0, 1], got ${String(accuracy)}`, { accuracy });
    this.#r[i]![j] = accuracy;
  }

  /** R as tasks × tasks rows, null where nothing was recorded (a copy). */
  matrix(): (number | null)[][] {
    return this.#r.map((row) => [...row]);
  }

  /** ACC, BWT and F (task-measures.ts), from the last task with a recorded row. */
  measures(): TaskMeasures {
    return taskMeasures(this.#r);
  }

  /** The registry as a namespace for `TrainingState.namespaces` (name it `tasks`). */
  toNamespace(): StateNamespace {
    const tensors: Record<string, TensorData> = {};
    for (const [i, t] of this.#tasks.entries()) if (t.embedding) tensors[embeddingName(i)] = t.embedding;
    const record: TaskRecord = {
      format: TASKS_FORMAT, version: TASKS_VERSION,
      tasks: this.#tasks.map((t) => ({ id: t.id, classes: [...t.classes], embedding: t.embedding ? { dtype: t.embedding.dtype, shape: [...t.embedding.shape] } : null })),
      accuracy: this.matrix(),
    };
    return { tensors, record: record as unknown as JsonValue };
  }

  /**
   * The registry a namespace holds. `FormatError` for a record that is not a task registry, is
   * inconsistent, lacks an embedding it lists, or was written by a newer engram.
   */
  static fromNamespace(ns: RestoredNamespace, name = 'tasks'): TaskRegistry {
    if (!ns || typeof ns !== 'object') throw invalid('fromNamespace needs a restored namespace { tensors, record }');
    return TaskRegistry.fromRecord(ns.record, name, (i) => ns.tensors?.[embeddingName(i)]);
  }

  /** @internal The registry of `record`; `embedding(i)` gives task i's embedding tensor (undefined: not loaded). */
  static fromRecord(value: JsonValue | undefined, name: string, embedding: (i: number) => TensorData | undefined = () => undefined, requireEmbeddings = true): TaskRegistry {
    const r = checkRecordHeader(value, name, TASKS_FORMAT, TASKS_VERSION) as unknown as TaskRecord;
    const bad = (msg: string, reason = 'inconsistent record'): Error => malformed(name, msg, reason);
    if (!Array.isArray(r.tasks) || !Array.isArray(r.accuracy)) throw bad('tasks and accuracy must be lists');
    const reg = new TaskRegistry();
    for (const [i, t] of r.tasks.entries()) {
      const e = t?.embedding ? embedding(i) : undefined;
      if (t?.embedding && requireEmbeddings) {
        if (!e) throw bad(`task ${i} lists an embedding, but tensor ${embeddingName(i)} is missing`, 'missing tensor');
        if (e.dtype !== t.embedding.dtype || e.shape.length !== t.embedding.shape.length || e.shape.some((d, k) => t.embedding!.shape[k] !== d)) throw bad(`tensor ${embeddingName(i)} does not have the layout the record lists`, 'tensor layout');
      }
      try {
        reg.addTask({ id: t?.id, classes: t?.classes, ...(e ? { embedding: e } : {}) });
      } catch (err) {
        throw bad(`task ${i} is not valid: ${(err as Error).message}`);
      }
    }
    const n = r.tasks.length;
    if (r.accuracy.length !== n) throw bad(`accuracy has ${r.accuracy.length} rows for ${n} tasks`);
    for (const [i, row] of r.accuracy.entries()) {
      if (!Array.isArray(row) || row.length !== n) throw bad(`accuracy row ${i} does not have ${n} entries`);
      for (const [j, v] of row.entries()) {
        if (v === null) continue;
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) throw bad(`accuracy[${i}][${j}] = ${String(v)} is not in [0, 1]`);
        reg.#r[i]![j] = v;
      }
    }
    return reg;
  }
}
