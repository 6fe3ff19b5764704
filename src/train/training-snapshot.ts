/**
 * @module How a {@link TrainingState} maps onto a snapshot, and back.
 *
 * | state                         | snapshot                                                    |
 * |-------------------------------|-------------------------------------------------------------|
 * | `model[name]`                 | tensor `model/<name>`                                        |
 * | `optimizer.slots[i]`          | tensor `optimizer/<slot name>`; the order is in blob `train` |
 * | optimizer name, step, hyper   | blob `train` (`optimizer`)                                   |
 * | LR schedule, metrics history, user state | blob `train`                                     |
 * | `rng`                         | blob `rng` (JSON: stream → {algorithm, state})               |
 * | `data`                        | blob `data` (JSON: epoch, index, shuffleSeed, extra)         |
 * | `namespaces[ns].tensors[t]`   | tensor `<ns>/<t>`; names, dtypes, shapes in blob `train`      |
 * | `namespaces[ns].record`       | blob `<ns>` (JSON)                                           |
 * | summary for people            | meta `train` (format, version, optimizer step, epoch, index) |
 *
 * Blob `train` also lists the model's tensors with dtype and shape, so a restore checks the target
 * model, optimizer and namespaces before reading a single chunk. A state without namespaces writes
 * exactly the blob `train` it wrote before namespaces existed (the key is left out), and a reader
 * that predates them reads such a checkpoint's other parts unchanged. The blobs are JSON written by state-json.ts
 * (NaN, ±Infinity and −0 survive). They are blobs, not manifest metadata, because the metrics history
 * and user state grow without bound, and a blob is content-defined-chunked: an appended history
 * shares its leading chunks with the previous checkpoint's.
 */
import { EngramError } from '../errors/index.ts';
import type { Snapshot, TensorInput } from '../repo/index.ts';
import type { JsonValue, TensorData } from '../tensor/index.ts';
import { byteLengthOf, isDType, Tensor } from '../tensor/index.ts';
import type { RngState } from './rng.ts';
import { checkLayouts, type SlotSpec } from './slot-layout.ts';
import { decodeStateJson, encodeStateJson } from './state-json.ts';
import { checkNamespaceName, checkNamespacesDisjoint } from './state-namespace.ts';
import type { DataPosition, MetricsRecord, OptimizerSlot, RestoredNamespace, RestoredTrainingState, TrainingState } from './training-state.ts';

/** The `format` of blob `train` and meta `train`. */
export const TRAINING_STATE_FORMAT = 'engram.training-state';
/** The version of blob `train` this build writes and reads. */
export const TRAINING_STATE_VERSION = 1;
/** Snapshot names the mapping uses. */
export const TRAINING_STATE_NAMES = { model: 'model/', optimizer: 'optimizer/', train: 'train', rng: 'rng', data: 'data' } as const;

/** A namespace as blob `train` lists it: its tensors' layout, and whether blob `<name>` holds a record. */
interface NamespaceHeader {
  readonly name: string;
  readonly tensors: readonly SlotSpec[];
  readonly record: boolean;
}

/** What blob `train` holds. */
interface TrainHeader {
  readonly format: typeof TRAINING_STATE_FORMAT;
  readonly version: number;
  readonly model: readonly SlotSpec[];
  readonly optimizer: { readonly name?: string; readonly step: number; readonly slots: readonly SlotSpec[]; readonly hyper?: Readonly<Record<string, JsonValue>> } | null;
  readonly lrSchedule: Readonly<Record<string, JsonValue>> | null;
  readonly metricsHistory: readonly MetricsRecord[];
  readonly user?: JsonValue;
  /** Absent when the state has no namespaces (so such a state's blob is what it always was). */
  readonly namespaces?: readonly NamespaceHeader[];
}

/** A training state as the parts of `Repository.save` options. */
export interface EncodedTrainingState {
  readonly tensors: Readonly<Record<string, TensorInput>>;
  readonly blobs: Readonly<Record<string, Uint8Array>>;
  readonly meta: Readonly<Record<string, JsonValue>>;
  /** Bytes of tensors and blobs. */
  readonly bytes: number;
}

function invalid(message: string, data: Record<string, unknown> = {}): EngramError {
  return new EngramError('InvalidArgument', message, data);
}

function nonNegativeInt(v: unknown, what: string): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalid(`${what} must be a non-negative integer, got ${String(v)}`, { [what]: v as JsonValue });
}

function checkTensor(t: TensorData, what: string): void {
  if (!t || typeof t !== 'object') throw invalid(`${what} is not a tensor`, { item: what });
  if (typeof t.dtype !== 'string' || !isDType(t.dtype)) throw invalid(`${what} has unknown dtype ${JSON.stringify(t.dtype)}`, { item: what });
  if (!(t.data instanceof Uint8Array)) throw invalid(`${what}: data must be a Uint8Array (view a Float32Array with new Uint8Array(a.buffer, a.byteOffset, a.byteLength))`, { item: what });
  const want = byteLengthOf(t.dtype, t.shape);
  if (t.data.byteLength !== want) throw invalid(`${what}: ${t.dtype}[${t.shape.join(', ')}] needs ${want} bytes, got ${t.data.byteLength}`, { item: what });
}

const spec = (name: string, t: TensorData): SlotSpec => ({ name, dtype: t.dtype, shape: [...t.shape] });

/** Checks a state's namespaces (names, tensors) and returns how blob `train` lists them. */
function checkNamespaces(namespaces: TrainingState['namespaces']): NamespaceHeader[] {
  if (namespaces === undefined) return [];
  if (!namespaces || typeof namespaces !== 'object') throw invalid('namespaces must be { name: { tensors?, record? }, … }');
  const out: NamespaceHeader[] = [];
  for (const [name, ns] of Object.entries(namespaces)) {
    checkNamespaceName(name);
    if (!ns || typeof ns !== 'object') throw invalid(`namespace ${name} must be { tensors?, record? }`, { namespace: name });
    if (ns.tensors !== undefined && (!ns.tensors || typeof ns.tensors !== 'object')) throw invalid(`namespace ${name}: tensors must be { name: tensor, … }`, { namespace: name });
    const tensors: SlotSpec[] = [];
    for (const [t, tensor] of Object.entries(ns.tensors ?? {})) {
      if (t === '') throw invalid(`every tensor of namespace ${name} needs a non-empty name`, { namespace: name });
      checkTensor(tensor, `tensor ${t} of namespace ${name}`);
      tensors.push(spec(t, tensor));
    }
    out.push({ name, tensors, record: ns.record !== undefined });
  }
  checkNamespacesDisjoint(out.map((ns) => ns.name));
  return out;
}

/**
 * Turns a training state into tensors, blobs and metadata for `Repository.save`. `copy` receives
 * each tensor's bytes and returns what to save: the bytes themselves for a synchronous save, or a
 * staged copy for an asynchronous one. The small state is serialised here, so the result never
 * refers back to the caller's objects except through what `copy` returns.
 */
export function encodeTrainingState(state: TrainingState, copy: (name: string, data: Uint8Array) => Uint8Array = (_n, d) => d): EncodedTrainingState {
  if (!state || typeof state !== 'object' || !state.model || typeof state.model !== 'object') throw invalid('a training state needs a model: { model: { name: tensor, … } }');
  const tensors: Record<string, TensorInput> = {};
  let bytes = 0;
  const add = (name: string, t: TensorData): void => {
    const data = copy(name, t.data);
    tensors[name] = { dtype: t.dtype, shape: [...t.shape], data };
    bytes += data.byteLength;
  };
  const model: SlotSpec[] = [];
  for (const [name, t] of Object.entries(state.model)) {
    if (name === '') throw invalid('a model weight needs a non-empty name');
    checkTensor(t, `model weight ${name}`);
    model.push(spec(name, t));
  }
  let optimizer: TrainHeader['optimizer'] = null;
  const o = state.optimizer;
  if (o) {
    nonNegativeInt(o.step, 'optimizer step');
    if (!Array.isArray(o.slots)) throw invalid('optimizer.slots must be a list of { name, tensor }');
    const seen = new Set<string>();
    for (const s of o.slots) {
      if (typeof s?.name !== 'string' || s.name === '') throw invalid('every optimizer slot needs a non-empty name');
      if (seen.has(s.name)) throw invalid(`optimizer slot ${s.name} is listed twice`, { slot: s.name });
      seen.add(s.name);
      checkTensor(s.tensor, `optimizer slot ${s.name}`);
    }
    optimizer = {
      ...(o.name !== undefined ? { name: o.name } : {}), step: o.step, slots: o.slots.map((s) => spec(s.name, s.tensor)),
      ...(o.hyper !== undefined ? { hyper: o.hyper } : {}),
    };
  }
  const d = state.data;
  if (d) {
    nonNegativeInt(d.epoch, 'data epoch');
    nonNegativeInt(d.index, 'data index');
    if (d.shuffleSeed !== undefined && !Number.isFinite(d.shuffleSeed)) throw invalid(`data shuffleSeed must be a finite number, got ${d.shuffleSeed}`);
  }
  for (const [stream, r] of Object.entries(state.rng ?? {})) {
    if (typeof r?.algorithm !== 'string' || !Array.isArray(r.state) || r.state.some((w) => typeof w !== 'number')) {
      throw invalid(`rng stream ${stream} must be { algorithm, state: number[] } (Rng.getState() gives one)`, { stream });
    }
  }
  for (const m of state.metricsHistory ?? []) {
    if (typeof m?.step !== 'number' || typeof m.metrics !== 'object' || m.metrics === null) throw invalid('metricsHistory entries must be { step, metrics: { name: number } }');
  }
  const namespaces = checkNamespaces(state.namespaces);

  // Tensors are copied after every check, so a refused state costs no copy.
  for (const [name, t] of Object.entries(state.model)) add(TRAINING_STATE_NAMES.model + name, t);
  for (const s of o?.slots ?? []) add(TRAINING_STATE_NAMES.optimizer + s.name, s.tensor);
  for (const ns of namespaces) for (const t of ns.tensors) add(`${ns.name}/${t.name}`, state.namespaces![ns.name]!.tensors![t.name]!);

  const header: TrainHeader = {
    format: TRAINING_STATE_FORMAT, version: TRAINING_STATE_VERSION, model, optimizer,
    lrSchedule: state.lrSchedule ?? null, metricsHistory: state.metricsHistory ?? [],
    ...(state.user !== undefined ? { user: state.user } : {}),
    ...(namespaces.length > 0 ? { namespaces } : {}),
  };
  const blobs: Record<string, Uint8Array> = { [TRAINING_STATE_NAMES.train]: encodeStateJson(header) };
  if (state.rng) blobs[TRAINING_STATE_NAMES.rng] = encodeStateJson(state.rng);
  if (d) blobs[TRAINING_STATE_NAMES.data] = encodeStateJson(d);
  for (const ns of namespaces) if (ns.record) blobs[ns.name] = encodeStateJson(state.namespaces![ns.name]!.record);
  for (const b of Object.values(blobs)) bytes += b.byteLength;

  const summary: Record<string, JsonValue> = { format: TRAINING_STATE_FORMAT, version: TRAINING_STATE_VERSION };
  if (o) summary.optimizerStep = o.step;
  if (d) {
    summary.epoch = d.epoch;
    summary.index = d.index;
  }
  if (namespaces.length > 0) summary.namespaces = namespaces.map((ns) => ns.name);
  return { tensors, blobs, meta: { train: summary }, bytes };
}

/** Buffers to restore into: the caller's weights and optimizer slots, overwritten in place. */
export interface RestoreInto {
  /**
   * The model's weights by name. Names, dtypes and shapes must equal the checkpoint's
   * (`InvalidArgument` says what differs); each tensor's bytes are overwritten.
   */
  readonly model?: Readonly<Record<string, TensorData>>;
  /**
   * The optimizer's slots in its order. The checkpoint's slots must have the same names in the same
   * order with the same dtypes and shapes (`InvalidArgument` says what differs).
   */
  readonly optimizer?: readonly OptimizerSlot[];
  /**
   * Namespaces the resume expects, each with the buffers of its tensors by name (`{}` for a
   * record-only namespace). Each must be in the checkpoint with the same tensor names, dtypes and
   * shapes (`InvalidArgument` names the namespace and says what differs); namespaces not listed
   * are read into fresh buffers.
   */
  readonly namespaces?: Readonly<Record<string, Readonly<Record<string, TensorData>>>>;
}

async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function asHeader(v: unknown, snapshot: string): TrainHeader {
  const h = v as Partial<TrainHeader> | null;
  if (!h || typeof h !== 'object' || h.format !== TRAINING_STATE_FORMAT || !Array.isArray(h.model)) {
    throw new EngramError('FormatError', `blob train of snapshot ${snapshot} is not an engram training state`, { snapshot, item: 'train', reason: 'not a training state' });
  }
  if (h.version !== TRAINING_STATE_VERSION) {
    throw new EngramError('Unsupported', `snapshot ${snapshot} holds training state version ${String(h.version)}; this engram reads version ${TRAINING_STATE_VERSION}`, { snapshot, version: h.version ?? null });
  }
  const ns = h.namespaces;
  if (ns !== undefined && (!Array.isArray(ns) || ns.some((n) => typeof n?.name !== 'string' || !Array.isArray(n.tensors) || typeof n.record !== 'boolean'))) {
    throw new EngramError('FormatError', `blob train of snapshot ${snapshot} lists malformed namespaces`, { snapshot, item: 'train', reason: 'malformed namespaces' });
  }
  return h as TrainHeader;
}

/**
 * Reads the training state a snapshot holds. With `into`, the layouts are compared first (nothing
 * is read when they differ) and the bytes land in the caller's buffers; the returned state's
 * tensors are then views of those buffers. `NotFound` when the snapshot holds no training state.
 *
 * @example
 * const state = await readTrainingState(await repo.snapshot('mlp@latest'), { model: myWeights, optimizer: mySlots });
 */
export async function readTrainingState(snap: Snapshot, into: RestoreInto = {}): Promise<RestoredTrainingState> {
  if (!snap.blobNames().includes(TRAINING_STATE_NAMES.train)) {
    throw new EngramError('NotFound', `snapshot ${snap.id} (${snap.run}@${snap.step}) holds no training state (no blob train); it was not saved by a CheckpointManager`, { snapshot: snap.id });
  }
  const header = asHeader(decodeStateJson(await snap.blob(TRAINING_STATE_NAMES.train), `blob train of snapshot ${snap.id}`), snap.id);
  const data = { snapshot: snap.id };
  if (into.model) checkLayouts(header.model, Object.entries(into.model).map(([n, t]) => spec(n, t)), 'model weight', false, data);
  const savedSlots = header.optimizer?.slots ?? [];
  if (into.optimizer) checkLayouts(savedSlots, into.optimizer.map((s) => spec(s.name, s.tensor)), 'optimizer slot', true, data);
  const savedNamespaces = header.namespaces ?? [];
  for (const [name, target] of Object.entries(into.namespaces ?? {})) {
    const saved = savedNamespaces.find((n) => n.name === name);
    if (!saved) {
      const has = savedNamespaces.map((n) => n.name);
      throw new EngramError('InvalidArgument', `cannot restore into this target: the checkpoint has no namespace ${name} (it has ${has.length ? has.join(', ') : 'none'})`, {
        ...data, namespace: name, reason: 'namespace missing',
      });
    }
    checkLayouts(saved.tensors, Object.entries(target).map(([n, t]) => spec(n, t)), `${name} tensor`, false, { ...data, namespace: name });
  }

  const weights = new Array<Tensor>(header.model.length);
  const slots = new Array<OptimizerSlot>(savedSlots.length);
  const nsTensors = savedNamespaces.map((ns) => new Array<Tensor>(ns.tensors.length));
  const jobs = [
    ...header.model.map((s, i) => ({ kind: 'model' as const, i, s, n: -1 })),
    ...savedSlots.map((s, i) => ({ kind: 'optimizer' as const, i, s, n: -1 })),
    ...savedNamespaces.flatMap((ns, n) => ns.tensors.map((s, i) => ({ kind: 'namespace' as const, i, s, n }))),
  ];
  await inParallel(jobs, 4, async ({ kind, i, s, n }) => {
    if (kind === 'model') {
      weights[i] = await snap.tensor(TRAINING_STATE_NAMES.model + s.name, { into: into.model?.[s.name]?.data });
    } else if (kind === 'optimizer') {
      slots[i] = { name: s.name, tensor: await snap.tensor(TRAINING_STATE_NAMES.optimizer + s.name, { into: into.optimizer?.[i]?.tensor.data }) };
    } else {
      const ns = savedNamespaces[n]!.name;
      nsTensors[n]![i] = await snap.tensor(`${ns}/${s.name}`, { into: into.namespaces?.[ns]?.[s.name]?.data });
    }
  });
  const model: Record<string, Tensor> = Object.fromEntries(header.model.map((s, i) => [s.name, weights[i]!]));
  const namespaces: Record<string, RestoredNamespace> = {};
  for (const [n, ns] of savedNamespaces.entries()) {
    const record = ns.record ? { record: decodeStateJson(await snap.blob(ns.name), `blob ${ns.name} of snapshot ${snap.id}`) as JsonValue } : {};
    namespaces[ns.name] = { tensors: Object.fromEntries(ns.tensors.map((s, i) => [s.name, nsTensors[n]![i]!])), ...record };
  }

  const blobs = new Set(snap.blobNames());
  const rng = blobs.has(TRAINING_STATE_NAMES.rng)
    ? (decodeStateJson(await snap.blob(TRAINING_STATE_NAMES.rng), `blob rng of snapshot ${snap.id}`) as Record<string, RngState>) : undefined;
  const position = blobs.has(TRAINING_STATE_NAMES.data)
    ? (decodeStateJson(await snap.blob(TRAINING_STATE_NAMES.data), `blob data of snapshot ${snap.id}`) as DataPosition) : undefined;
  const o = header.optimizer;
  return {
    step: snap.step, snapshotId: snap.id, metrics: snap.metrics,
    model,
    ...(o ? { optimizer: { ...(o.name !== undefined ? { name: o.name } : {}), step: o.step, slots, ...(o.hyper !== undefined ? { hyper: o.hyper } : {}) } } : {}),
    ...(rng ? { rng } : {}),
    ...(position ? { data: position } : {}),
    ...(header.lrSchedule !== null ? { lrSchedule: header.lrSchedule } : {}),
    metricsHistory: header.metricsHistory,
    ...(header.user !== undefined ? { user: header.user } : {}),
    ...(savedNamespaces.length > 0 ? { namespaces } : {}),
  };
}
