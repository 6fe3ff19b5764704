/**
 * @module The fields of a replay buffer's examples and the checks on what goes in: the options,
 * a batch's tensors (every field, its dtype, `[batch, ...shape]`), and the label of an example.
 */
import { byteLengthOf, dtypeSize, isDType, type DType, type TensorData } from '../tensor/index.ts';
import { invalid } from './continual-error.ts';

/** The three admission rules a {@link ReplayBuffer} knows. */
export type ReplayKind = 'reservoir' | 'ring' | 'class-balanced';

/** The kinds, for checks and messages. */
export const REPLAY_KINDS: readonly ReplayKind[] = Object.freeze(['reservoir', 'ring', 'class-balanced']);

/** One field of an example: `x` F32 [64], `y` I32 [] … The shape is per example (no batch dimension). */
export interface ReplayField {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** Options of a {@link ReplayBuffer}. */
export interface ReplayBufferOptions {
  readonly kind: ReplayKind;
  /** Examples held at most (a positive integer). */
  readonly capacity: number;
  /** Seed of the buffer's own generator (admission and sampling draw from it). */
  readonly seed: number;
  readonly fields: readonly ReplayField[];
  /**
   * The field holding each example's class: an integer dtype with one value per example (shape
   * `[]` or `[1]`), values in 0 … 2^31 − 1. Required for `class-balanced`; enables `countsByClass`.
   */
  readonly labelField?: string;
}

/** Integer dtypes a label may have. */
const LABEL_DTYPES: readonly DType[] = ['I8', 'I16', 'I32', 'I64', 'U8', 'U16', 'U32', 'U64'];

/** Largest label: class counters are kept in a JSON record and class ids in Int32 slots. */
export const MAX_LABEL = 2 ** 31 - 1;

const FIELD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A field as the buffer holds it: its options plus the bytes of one example. */
export interface FieldLayout extends ReplayField {
  readonly rowBytes: number;
}

/** Checks `options` and returns the field layouts; `InvalidArgument` says what is wrong. */
export function checkReplayOptions(options: ReplayBufferOptions): FieldLayout[] {
  if (!options || typeof options !== 'object') throw invalid('ReplayBuffer needs options { kind, capacity, seed, fields }');
  if (!REPLAY_KINDS.includes(options.kind)) throw invalid(`replay kind must be one of ${REPLAY_KINDS.join(', ')}, got ${JSON.stringify(options.kind)}`, { kind: options.kind });
  if (!Number.isSafeInteger(options.capacity) || options.capacity <= 0) throw invalid(`replay capacity must be a positive integer, got ${String(options.capacity)}`, { capacity: options.capacity });
  if (typeof options.seed !== 'number' || !Number.isFinite(options.seed)) throw invalid(`replay seed must be a finite number, got ${String(options.seed)}`, { seed: options.seed });
  if (!Array.isArray(options.fields) || options.fields.length === 0) throw invalid('a replay buffer needs at least one field { name, dtype, shape }');
  const names = new Set<string>();
  const layouts = options.fields.map((f): FieldLayout => {
    if (!f || typeof f.name !== 'string' || !FIELD_NAME.test(f.name)) throw invalid(`replay field name ${JSON.stringify(f?.name)} must be a letter or digit followed by up to 63 letters, digits, _, - or .`, { field: f?.name });
    if (names.has(f.name)) throw invalid(`replay field ${f.name} is listed twice`, { field: f.name });
    names.add(f.name);
    if (typeof f.dtype !== 'string' || !isDType(f.dtype) || f.dtype.startsWith('opaque:')) throw invalid(`replay field ${f.name} has unknown or opaque dtype ${JSON.stringify(f.dtype)}`, { field: f.name });
    if (!Array.isArray(f.shape) || f.shape.some((d: unknown) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) throw invalid(`replay field ${f.name}: shape must be a list of non-negative integers`, { field: f.name });
    return { name: f.name, dtype: f.dtype, shape: [...f.shape], rowBytes: byteLengthOf(f.dtype, f.shape) };
  });
  const label = options.labelField;
  if (options.kind === 'class-balanced' && label === undefined) throw invalid('a class-balanced replay buffer needs labelField (the integer field with each example\'s class)');
  if (label !== undefined) {
    const f = layouts.find((l) => l.name === label);
    if (!f) throw invalid(`labelField ${JSON.stringify(label)} is not one of the fields (${layouts.map((l) => l.name).join(', ')})`, { field: label });
    if (!LABEL_DTYPES.includes(f.dtype)) throw invalid(`labelField ${label} must have an integer dtype, got ${f.dtype}`, { field: label, dtype: f.dtype });
    if (f.rowBytes !== dtypeSize(f.dtype)) throw invalid(`labelField ${label} must hold one value per example (shape [] or [1]), got [${f.shape.join(', ')}]`, { field: label });
  }
  return layouts;
}

/**
 * Checks a batch against the fields (every field, nothing else, `[batch, ...shape]`, the dtype, the
 * byte length) and returns the batch size. Nothing is admitted unless the whole batch passes.
 */
export function checkBatch(fields: readonly FieldLayout[], batch: Readonly<Record<string, TensorData>>): number {
  if (!batch || typeof batch !== 'object') throw invalid('admit needs a batch { field: tensor, … }');
  for (const name of Object.keys(batch)) {
    if (!fields.some((f) => f.name === name)) throw invalid(`the batch has field ${name}, which the buffer does not hold (fields: ${fields.map((f) => f.name).join(', ')})`, { field: name });
  }
  let n = -1;
  for (const f of fields) {
    const t = batch[f.name];
    if (!t) throw invalid(`the batch lacks field ${f.name}`, { field: f.name });
    if (t.dtype !== f.dtype) throw invalid(`field ${f.name} must be ${f.dtype}, got ${String(t.dtype)}`, { field: f.name, dtype: t.dtype });
    if (!(t.data instanceof Uint8Array)) throw invalid(`field ${f.name}: data must be a Uint8Array`, { field: f.name });
    const shape = t.shape;
    if (!Array.isArray(shape) || shape.length !== f.shape.length + 1 || f.shape.some((d, i) => shape[i + 1] !== d) || !Number.isSafeInteger(shape[0]) || shape[0]! < 0) {
      throw invalid(`field ${f.name} must have shape [batch, ${f.shape.join(', ')}], got [${Array.isArray(shape) ? shape.join(', ') : String(shape)}]`, { field: f.name });
    }
    if (n >= 0 && shape[0] !== n) throw invalid(`field ${f.name} has ${shape[0]} examples, field ${fields[0]!.name} ${n}`, { field: f.name });
    n = shape[0]!;
    if (t.data.byteLength !== n * f.rowBytes) throw invalid(`field ${f.name}: ${n} examples of ${f.rowBytes} bytes need ${n * f.rowBytes} bytes, got ${t.data.byteLength}`, { field: f.name });
  }
  return n;
}

/** The integer at `bytes[offset…]` in `dtype` (little-endian), or NaN when it is not a valid label. */
export function readLabel(dtype: DType, bytes: Uint8Array, offset: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset + offset, dtypeSize(dtype));
  let x: number;
  switch (dtype) {
    case 'I8': x = v.getInt8(0); break;
    case 'U8': x = v.getUint8(0); break;
    case 'I16': x = v.getInt16(0, true); break;
    case 'U16': x = v.getUint16(0, true); break;
    case 'I32': x = v.getInt32(0, true); break;
    case 'U32': x = v.getUint32(0, true); break;
    case 'I64': { const b = v.getBigInt64(0, true); x = b < 0n || b > BigInt(MAX_LABEL) ? -1 : Number(b); break; }
    case 'U64': { const b = v.getBigUint64(0, true); x = b > BigInt(MAX_LABEL) ? -1 : Number(b); break; }
    default: return Number.NaN;
  }
  return x >= 0 && x <= MAX_LABEL ? x : Number.NaN;
}
