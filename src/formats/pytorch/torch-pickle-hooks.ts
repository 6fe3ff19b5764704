/**
 * @module The allowlist PyTorch checkpoints are unpickled under, like torch's `weights_only`
 * loader: the tensor and parameter rebuild functions, OrderedDict, the storage classes and dtypes
 * (as inert names), and `_codecs.encode` (how protocol 2 writes bytes). REDUCE calls only the
 * rebuild functions, implemented here as data constructors; BUILD only sets an OrderedDict's
 * attributes. Everything else is `UnsafePickle`.
 */
import { formatError } from '../../errors/index.ts';
import type { DenseDType } from '../../tensor/index.ts';
import { PyDict, PyGlobal, PyOpaque, PyTuple, unsafePickle, type PyValue, type UnpickleHooks } from '../pickle/index.ts';

/** The element type of each storage class torch writes in a persistent id. */
export const STORAGE_DTYPES: Readonly<Record<string, DenseDType>> = {
  'torch.DoubleStorage': 'F64', 'torch.FloatStorage': 'F32', 'torch.HalfStorage': 'F16', 'torch.BFloat16Storage': 'BF16',
  'torch.LongStorage': 'I64', 'torch.IntStorage': 'I32', 'torch.ShortStorage': 'I16', 'torch.CharStorage': 'I8',
  'torch.ByteStorage': 'U8', 'torch.BoolStorage': 'BOOL',
  'torch.Float8_e4m3fnStorage': 'F8_E4M3', 'torch.Float8_e5m2Storage': 'F8_E5M2',
  'torch.UInt16Storage': 'U16', 'torch.UInt32Storage': 'U32', 'torch.UInt64Storage': 'U64',
  // An untyped storage is bytes; the tensor over it says what they are.
  'torch.UntypedStorage': 'U8', 'torch.storage.UntypedStorage': 'U8',
};

/**
 * Storage classes torch writes that engram has no dtype for: allowed as names so that such a
 * checkpoint is a FormatError 'unsupported…' (kept opaque), not mistaken for a hostile one.
 */
const UNSUPPORTED_STORAGE_CLASSES = [
  'ComplexFloatStorage', 'ComplexDoubleStorage', 'QInt8Storage', 'QUInt8Storage', 'QInt32Storage', 'QUInt4x2Storage', 'QUInt2x4Storage',
].map((c) => `torch.${c}`);

/** Dtype globals (`torch.float32`…): allowed as values, never called. */
const DTYPE_GLOBALS = [
  'float64', 'double', 'float32', 'float', 'float16', 'half', 'bfloat16', 'int64', 'long', 'int32', 'int', 'int16', 'short',
  'int8', 'uint8', 'bool', 'complex64', 'complex128', 'float8_e4m3fn', 'float8_e5m2', 'uint16', 'uint32', 'uint64',
].map((d) => `torch.${d}`);

/**
 * torch's rebuild functions for tensors that are not one dense strided storage (quantized, sparse,
 * nested) and the enum globals their arguments name: allowed as names, never called. REDUCE on one
 * is a FormatError 'unsupported…', so such a checkpoint is kept opaque (restored byte for byte)
 * instead of refused as hostile — and its bytes are never passed on as some dense dtype's values.
 */
const UNSUPPORTED_REBUILDS: ReadonlySet<string> = new Set([
  ...['_rebuild_qtensor', '_rebuild_sparse_tensor', '_rebuild_sparse_csr_tensor', '_rebuild_nested_tensor'].map((f) => `torch._utils.${f}`),
  // Sparse tensors name their layout through it ('torch.sparse_coo'); dense ones never do.
  'torch.serialization._get_layout',
]);
const TENSOR_ENUM_GLOBALS = [
  'per_tensor_affine', 'per_channel_affine', 'per_tensor_symmetric', 'per_channel_symmetric', 'per_channel_affine_float_qparams',
  'sparse_coo', 'sparse_csr', 'sparse_csc', 'sparse_bsr', 'sparse_bsc',
].map((n) => `torch.${n}`);

const REBUILD_TENSOR = 'torch._utils._rebuild_tensor_v2';
const REBUILD_PARAMETER = 'torch._utils._rebuild_parameter';
const REBUILD_PARAMETER_WITH_STATE = 'torch._utils._rebuild_parameter_with_state';
const ORDERED_DICT = 'collections.OrderedDict';
const CODECS_ENCODE = '_codecs.encode';

/** Every global a PyTorch checkpoint may name. */
export const TORCH_ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  REBUILD_TENSOR, REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE, ORDERED_DICT, CODECS_ENCODE,
  'torch.storage.TypedStorage', ...Object.keys(STORAGE_DTYPES), ...UNSUPPORTED_STORAGE_CLASSES, ...DTYPE_GLOBALS,
  ...UNSUPPORTED_REBUILDS, ...TENSOR_ENUM_GLOBALS,
]);

/** One storage as a persistent id names it. */
export interface TorchStorage {
  readonly key: string;
  readonly dtype: DenseDType;
  /** Elements, as the persistent id says. */
  readonly numel: number;
  readonly location: string;
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage. */
export interface TorchTensorView {
  readonly storage: TorchStorage;
  readonly storageOffset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

export type TensorObject = PyOpaque<TorchTensorView>;
export type StorageObject = PyOpaque<TorchStorage>;

const isCount = (x: PyValue): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/**
 * The hooks for one pickle. `persistentLoad` turns a persistent id into a storage (the same
 * object for the same key); the file reader then finds each storage's bytes.
 */
export function torchPickleHooks(file: string, persistentLoad: (pid: PyTuple, at: number) => StorageObject): UnpickleHooks {
  const refuse = (at: number, reason: string, q?: string) => unsafePickle(file, at, reason, q ? { global: q } : {});
  const shapeOf = (x: PyValue, what: string, at: number): number[] => {
    if (!(x instanceof PyTuple) || !x.items.every(isCount)) throw formatError(file, at, `tensor ${what} is not a tuple of non-negative integers`);
    return x.items as number[];
  };
  const tensorArg = (x: PyValue, at: number): TensorObject => {
    if (!(x instanceof PyOpaque) || x.kind !== 'tensor') throw formatError(file, at, 'parameter wraps something that is not a tensor');
    return x as TensorObject;
  };
  return {
    allowedGlobals: TORCH_ALLOWED_GLOBALS,
    persistentLoad(pid, at) {
      if (!(pid instanceof PyTuple)) throw formatError(file, at, 'persistent id is not a tuple');
      return persistentLoad(pid, at);
    },
    reduce(callable, args, at) {
      if (!(callable instanceof PyGlobal)) throw refuse(at, 'REDUCE calls something that is not an allowlisted function');
      const a = args.items;
      switch (callable.qualified) {
        case ORDERED_DICT: {
          const d = new PyDict();
          if (a.length === 0) return d;
          throw refuse(at, 'collections.OrderedDict is called with arguments', ORDERED_DICT);
        }
        case REBUILD_TENSOR: {
          // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
          const [storage, offset] = a;
          if (a.length < 6 || a.length > 7 || !(storage instanceof PyOpaque) || storage.kind !== 'storage' || !isCount(offset!)) {
            throw formatError(file, at, '_rebuild_tensor_v2 has unexpected arguments');
          }
          const shape = shapeOf(a[2]!, 'size', at);
          const stride = shapeOf(a[3]!, 'stride', at);
          if (shape.length !== stride.length) throw formatError(file, at, `tensor size has ${shape.length} dimensions but its stride ${stride.length}`);
          const s = (storage as StorageObject).value;
          // Stride-0 (expanded) views are legitimate, so the element count is not bounded by the
          // storage; bound it by what a byte count can express.
          if (shape.reduce((n, d) => n * BigInt(d), 1n) * 8n > BigInt(Number.MAX_SAFE_INTEGER)) {
            throw formatError(file, at, `tensor of size [${shape}] has more elements than engram can address`);
          }
          // The last element the view touches must lie inside the storage.
          if (!shape.includes(0)) {
            const last = shape.reduce((n, d, i) => n + (d - 1) * stride[i]!, offset);
            if (!Number.isSafeInteger(last) || last >= s.numel) {
              throw formatError(file, at, `tensor view (offset ${offset}, size [${shape}], stride [${stride}]) reaches past its ${s.numel}-element storage ${s.key}`);
            }
          }
          return new PyOpaque<TorchTensorView>('tensor', { storage: s, storageOffset: offset, shape, stride });
        }
        case REBUILD_PARAMETER:
        case REBUILD_PARAMETER_WITH_STATE:
          if (a.length < 3) throw formatError(file, at, `${callable.name} has too few arguments`);
          return tensorArg(a[0]!, at);
        case CODECS_ENCODE: {
          const [text, encoding] = a;
          if (a.length !== 2 || typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
            throw refuse(at, '_codecs.encode is called with arguments other than (str, "latin1")', CODECS_ENCODE);
          }
          const out = new Uint8Array(text.length);
          for (let i = 0; i < text.length; i++) {
            const c = text.charCodeAt(i);
            if (c > 255) throw formatError(file, at, '_codecs.encode: string is not latin-1');
            out[i] = c;
          }
          return out;
        }
        default:
          if (UNSUPPORTED_REBUILDS.has(callable.qualified)) throw formatError(file, at, `unsupported tensor kind: ${callable.name} (quantized, sparse or nested tensors have no dense dtype)`);
          throw refuse(at, `REDUCE calls ${callable.qualified}, which engram does not call`, callable.qualified);
      }
    },
    build(obj, state, at) {
      // An OrderedDict's state is its __dict__ (a state_dict's `_metadata`): kept aside, not run.
      if (obj instanceof PyDict && (state === null || state instanceof PyDict)) {
        obj.state = state;
        return obj;
      }
      const what = obj instanceof PyGlobal ? obj.qualified : obj instanceof PyOpaque ? obj.kind : Array.isArray(obj) ? 'a list' : typeof obj;
      throw refuse(at, `BUILD on ${what} is not allowed`, obj instanceof PyGlobal ? obj.qualified : undefined);
    },
  };
}

/**
 * Checks a storage persistent id, `('storage', storage_class, key, location, numel[, view])`, and
 * returns its storage. `known` keeps one storage per key.
 */
export function storageFromPid(file: string, pid: PyTuple, at: number, known: Map<string, StorageObject>): StorageObject {
  const [tag, cls, key, location, numel, view] = pid.items;
  if (tag !== 'storage' || pid.items.length < 5 || pid.items.length > 6 || !(cls instanceof PyGlobal) || typeof key !== 'string'
    || typeof location !== 'string' || !isCount(numel!)) {
    throw formatError(file, at, 'persistent id is not (\'storage\', class, key, location, numel)');
  }
  if (view !== undefined && view !== null) throw formatError(file, at, `unsupported storage view in persistent id of storage ${key}`);
  const dtype = STORAGE_DTYPES[cls.qualified];
  if (!dtype) throw formatError(file, at, `unsupported storage class ${cls.qualified}`);
  const prev = known.get(key);
  if (prev) {
    if (prev.value.dtype !== dtype) throw formatError(file, at, `storage ${key} is used as both ${prev.value.dtype} and ${dtype}`);
    return prev;
  }
  const s = new PyOpaque<TorchStorage>('storage', { key, dtype, numel, location });
  known.set(key, s);
  return s;
}
