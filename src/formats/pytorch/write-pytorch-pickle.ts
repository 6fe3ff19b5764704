/**
 * @module Pickles a checkpoint object as `torch.save` (PyTorch 1.13, protocol 2) does: each tensor
 * becomes `torch._utils._rebuild_tensor_v2(<persistent id of its storage>, 0, size, stride, False,
 * OrderedDict())`, the storage named by `('storage', torch.<Type>Storage, key, 'cpu', numel)` and
 * written as its own archive record. Containers are written as CPython writes them, so a plain
 * state dict comes out byte-identical to torch's. Only values engram's reader and torch's
 * `weights_only` loader accept are written (bytes and floats need a full `torch.load` on 1.13).
 */
import { EngramError } from '../../errors/index.ts';
import { dtypeSize, type DType } from '../../tensor/index.ts';
import { pickleBatches, Pickler } from '../pickle/index.ts';
import type { TensorMeta } from '../write-steps.ts';

/**
 * A checkpoint object to write, in the same JSON shape engram's reader puts in
 * `metadata['pytorch:object']`: plain objects are dicts with str keys, arrays are lists, and
 * `$`-markers stand for what JSON lacks. A number that is a safe integer is a Python int, any other
 * a float; `{ $float: 1 }` forces a float. A dict whose keys are not all strings (an optimizer's
 * `state` is keyed by int), or that must be an OrderedDict, is `{ $dict: [[key, value], …] }`.
 */
export type TorchObject =
  | null | boolean | number | bigint | string | Uint8Array
  | readonly TorchObject[]
  | { readonly $tensor: string }
  | { readonly $tuple: readonly TorchObject[] }
  | { readonly $float: number | 'nan' | 'inf' | '-inf' }
  | { readonly $int: string }
  | { readonly $bytes: string }
  | { readonly $global: string }
  | { readonly $dict: readonly (readonly [TorchObject, TorchObject])[]; readonly ordered?: boolean; readonly state?: TorchObject }
  | { readonly [key: string]: TorchObject };

/** One tensor a checkpoint object refers to, by name: its description (the pickle needs no bytes). */
export type TorchTensorData = TensorMeta;

/** A storage to write as `data/<key>`. */
export interface TorchStorageRecord {
  readonly key: string;
  /** The tensor it holds. */
  readonly name: string;
  readonly byteLength: number;
}

/** The storage class torch pickles for each dtype (the reader's `STORAGE_DTYPES`, reversed). */
export const TORCH_STORAGE_CLASSES: Readonly<Partial<Record<DType, string>>> = {
  F64: 'DoubleStorage', F32: 'FloatStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage',
  I64: 'LongStorage', I32: 'IntStorage', I16: 'ShortStorage', I8: 'CharStorage', U8: 'ByteStorage', BOOL: 'BoolStorage',
  // Only torch ≥ 2.1 (float8) and ≥ 2.3 (uint16/32/64) have these; engram's reader knows them all.
  F8_E4M3: 'Float8_e4m3fnStorage', F8_E5M2: 'Float8_e5m2Storage', U16: 'UInt16Storage', U32: 'UInt32Storage', U64: 'UInt64Storage',
};

// The dtype globals a checkpoint may hold as values (what the reader allows as inert names).
const DTYPE_NAMES = new Set([
  'float64', 'double', 'float32', 'float', 'float16', 'half', 'bfloat16', 'int64', 'long', 'int32', 'int', 'int16', 'short',
  'int8', 'uint8', 'bool', 'float8_e4m3fn', 'float8_e5m2', 'uint16', 'uint32', 'uint64',
]);

/** A contiguous tensor's strides as torch computes them: dimensions of size 0 count as 1. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= Math.max(shape[i]!, 1);
  }
  return out;
}

function invalid(message: string, data: Record<string, unknown> = {}): EngramError {
  return new EngramError('InvalidArgument', message, data);
}

function marker(o: object): string | undefined {
  const keys = Object.keys(o);
  return keys.length >= 1 && keys[0]!.startsWith('$') && ['$tensor', '$tuple', '$float', '$int', '$bytes', '$global', '$dict'].includes(keys[0]!)
    ? keys[0]
    : undefined;
}

/**
 * Pickles `root` and returns the pickle and the storages it names, in key order ('0', '1', … in
 * the order tensors are first met, as torch numbers them). A tensor named twice is one object
 * (BINGET), as tied weights are in Python. Throws `InvalidArgument` for a `$tensor` that names no
 * tensor, a dtype torch has no storage for, or a value that cannot be pickled.
 */
export function pickleTorchObject(root: TorchObject, tensors: ReadonlyMap<string, TorchTensorData>): { pickle: Uint8Array; storages: TorchStorageRecord[] } {
  const p = new Pickler();
  const storages: TorchStorageRecord[] = [];
  // Explicit stack of pending work: the object may nest deeply, and recursion would overflow.
  type Work = TorchObject | (() => void);
  const stack: Work[] = [root];
  p.proto();
  const push = (...w: Work[]): void => {
    for (let i = w.length - 1; i >= 0; i--) stack.push(w[i]!);
  };

  const tensor = (name: string): void => {
    if (p.recall(`tensor:${name}`)) return;
    const t = tensors.get(name);
    if (!t) throw invalid(`the checkpoint object refers to tensor ${JSON.stringify(name)}, which was not given`, { tensor: name });
    const cls = TORCH_STORAGE_CLASSES[t.dtype];
    if (!cls) throw new EngramError('Unsupported', `PyTorch has no storage type for tensor ${JSON.stringify(name)} of dtype ${t.dtype}`, { tensor: name, dtype: t.dtype });
    const numel = t.shape.reduce((n, d) => n * d, 1);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || t.byteLength !== numel * dtypeSize(t.dtype)) {
      throw invalid(`tensor ${JSON.stringify(name)} has ${t.byteLength} bytes, not ${t.dtype} × [${t.shape.join(', ')}]`, { tensor: name });
    }
    const key = String(storages.length);
    storages.push({ key, name, byteLength: t.byteLength });
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.mark();
    // The persistent id ('storage', class, key, location, numel); 'storage' and 'cpu' are
    // interned literals in torch, so CPython memoises them once and reuses them.
    p.mark();
    p.str('storage', 'storage');
    p.global('torch', cls);
    p.str(key, `storage-key:${key}`);
    p.str('cpu', 'cpu');
    p.int(numel);
    p.tuple(5);
    p.persid();
    p.int(0);
    const ints = (xs: readonly number[]): void => {
      if (xs.length > 3) p.mark();
      for (const x of xs) p.int(x);
      p.tuple(xs.length);
    };
    ints(t.shape);
    ints(contiguousStrides(t.shape));
    p.bool(false);
    // backward_hooks: a fresh, empty OrderedDict.
    p.global('collections', 'OrderedDict');
    p.tuple(0);
    p.reduce();
    p.memoize();
    p.tuple(6);
    p.reduce();
    p.memoize(`tensor:${name}`);
  };

  const dict = (entries: readonly (readonly [TorchObject, TorchObject])[], ordered: boolean, state: TorchObject | undefined): void => {
    const items = (kind: 'dict' | 'iterator'): void => {
      const work: Work[] = [];
      let i = 0;
      for (const b of pickleBatches(entries.length, kind)) {
        if (b.mark) work.push(() => p.mark());
        for (let k = 0; k < b.count; k++, i++) work.push(entries[i]![0], entries[i]![1]);
        work.push(() => p.setitems(b.mark));
      }
      if (state !== undefined && state !== null) work.push(state, () => p.build());
      push(...work);
    };
    if (ordered) {
      p.global('collections', 'OrderedDict');
      p.tuple(0);
      p.reduce();
      p.memoize();
      items('iterator');
    } else {
      if (state !== undefined && state !== null) throw invalid('only an ordered $dict can carry state');
      p.emptyDict();
      items('dict');
    }
  };

  while (stack.length > 0) {
    const w = stack.pop()!;
    if (typeof w === 'function') {
      w();
      continue;
    }
    const v = w;
    if (v === null) p.none();
    else if (typeof v === 'boolean') p.bool(v);
    else if (typeof v === 'bigint') p.int(v);
    else if (typeof v === 'number') {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) p.int(v);
      else p.float(v);
    } else if (typeof v === 'string') p.str(v);
    else if (v instanceof Uint8Array) bytes(p, v);
    else if (Array.isArray(v)) {
      const items = v as readonly TorchObject[];
      p.emptyList();
      const work: Work[] = [];
      let i = 0;
      for (const b of pickleBatches(items.length, 'list')) {
        if (b.mark) work.push(() => p.mark());
        for (let k = 0; k < b.count; k++) work.push(items[i++]!);
        work.push(() => p.appends(b.mark));
      }
      push(...work);
    } else if (typeof v === 'object') {
      const o = v as Record<string, unknown>;
      switch (marker(o)) {
        case '$tensor':
          if (typeof o.$tensor !== 'string') throw invalid('$tensor must name a tensor');
          tensor(o.$tensor);
          break;
        case '$tuple': {
          const items = o.$tuple;
          if (!Array.isArray(items)) throw invalid('$tuple must be an array');
          // One push: the work stack is LIFO, so the MARK must be queued with the items it opens.
          push(...(items.length > 3 ? [() => p.mark()] : []), ...(items as TorchObject[]), () => p.tuple(items.length));
          break;
        }
        case '$float': {
          const f = o.$float;
          const x = f === 'nan' ? NaN : f === 'inf' ? Infinity : f === '-inf' ? -Infinity : f;
          if (typeof x !== 'number') throw invalid(`$float must be a number, "nan", "inf" or "-inf", not ${JSON.stringify(f)}`);
          p.float(x);
          break;
        }
        case '$int':
          if (typeof o.$int !== 'string' || !/^-?\d+$/.test(o.$int)) throw invalid(`$int must be a decimal string, not ${JSON.stringify(o.$int)}`);
          p.int(BigInt(o.$int));
          break;
        case '$bytes':
          if (typeof o.$bytes !== 'string') throw invalid('$bytes must be base64 text');
          bytes(p, new Uint8Array(Buffer.from(o.$bytes, 'base64')));
          break;
        case '$global': {
          const g = o.$global;
          if (typeof g !== 'string' || !g.startsWith('torch.') || !DTYPE_NAMES.has(g.slice(6))) {
            throw invalid(`$global may only name a torch dtype (torch.float32, …), not ${JSON.stringify(g)}`, { global: String(g) });
          }
          p.global('torch', g.slice(6));
          break;
        }
        case '$dict': {
          const entries = o.$dict;
          if (!Array.isArray(entries) || !entries.every((e) => Array.isArray(e) && e.length === 2)) throw invalid('$dict must be an array of [key, value] pairs');
          dict(entries as [TorchObject, TorchObject][], o.ordered === true, o.state as TorchObject | undefined);
          break;
        }
        default:
          dict(Object.entries(o) as [string, TorchObject][], false, undefined);
      }
    } else {
      throw invalid(`cannot pickle a value of type ${typeof v}`);
    }
  }
  p.stop();
  return { pickle: p.bytes(), storages };
}

/** Python 3 pickles bytes at protocol 2 as `_codecs.encode(<latin-1 str>, 'latin1')`. */
function bytes(p: Pickler, b: Uint8Array): void {
  p.global('_codecs', 'encode');
  let text = '';
  for (let i = 0; i < b.byteLength; i += 8192) text += String.fromCharCode(...b.subarray(i, i + 8192));
  p.str(text);
  p.str('latin1', 'latin1');
  p.tuple(2);
  p.reduce();
  p.memoize();
}
