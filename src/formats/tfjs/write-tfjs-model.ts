/**
 * @module Writes tensors as a TensorFlow.js model: a `model.json` whose `weightsManifest` has one
 * group, and the group's bytes cut into `group1-shard<i>of<n>.bin` files of `shardBytes` each, as
 * the TF.js converter writes them (weights run across shard edges). Optimizer state goes into the
 * same group with `group: "optimizer"` on each entry, as `model.save(…, { includeOptimizer: true })`
 * writes it.
 */
import { EngramError } from '../../errors/index.ts';
import type { DType, JsonValue, LazyNamedTensor, NamedTensor } from '../../tensor/index.ts';
import type { DirectoryFile, StreamedDirectoryFile } from '../tensor-format.ts';
import { received, streamSteps, type TensorMeta, type WriteSteps } from '../write-steps.ts';

/** The engram dtypes a TF.js weight can be stored as; F16 is stored as float16 quantization of a float32 weight. */
export const TFJS_WRITABLE_DTYPES: readonly DType[] = ['F32', 'I32', 'BOOL', 'F16'];

/** The TF.js converter's default shard size. */
export const TFJS_DEFAULT_SHARD_BYTES = 4 << 20;

/** @deprecated use NamedTensor (tensor/) */
export type TfjsTensorInput = NamedTensor;

/** @deprecated use JsonValue (tensor/) */
export type TfjsJson = JsonValue;

/** Options of {@link writeTfjsModel}. */
export interface WriteTfjsModelOptions {
  /** Bytes per shard file (default 4 MiB); the last shard holds the rest. */
  readonly shardBytes?: number;
  /** The `modelTopology` to write (a Keras layers topology for `tf.loadLayersModel`); null by default. */
  readonly modelTopology?: JsonValue;
  /** `format` of model.json, e.g. `layers-model` (written only when given). */
  readonly format?: string;
  /** The `trainingConfig` to write (loss, metrics, optimizer config), when given. */
  readonly trainingConfig?: JsonValue;
  /** Optimizer weights, written after the model's with `group: "optimizer"`. */
  readonly optimizer?: readonly NamedTensor[];
  /** String metadata, written as `userDefinedMetadata`. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** One file of a written model, by its path relative to the model's directory. */
export type TfjsOutputFile = DirectoryFile;

const TFJS_DTYPE: Partial<Record<DType, string>> = { F32: 'float32', I32: 'int32', BOOL: 'bool', F16: 'float32' };

function entry(t: TensorMeta, group: string | undefined): Record<string, unknown> {
  const dtype = TFJS_DTYPE[t.dtype];
  if (dtype === undefined) {
    throw new EngramError('Unsupported', `tfjs cannot hold tensor ${JSON.stringify(t.name)} of dtype ${t.dtype}; write .safetensors instead`, {
      format: 'tfjs', tensor: t.name, dtype: t.dtype, suggest: 'safetensors',
    });
  }
  const elements = t.shape.reduce((a, d) => a * d, 1);
  const width = t.dtype === 'F16' ? 2 : t.dtype === 'BOOL' ? 1 : 4;
  if (elements * width !== t.byteLength) {
    throw new EngramError('InvalidArgument', `tensor ${JSON.stringify(t.name)} has ${t.byteLength} bytes, but ${t.dtype}[${t.shape.join(', ')}] needs ${elements * width}`, { tensor: t.name });
  }
  return {
    name: t.name, shape: [...t.shape], dtype,
    ...(group !== undefined ? { group } : {}),
    // float16 storage of a float32 weight: TF.js widens it on load, every value exactly.
    ...(t.dtype === 'F16' ? { quantization: { dtype: 'float16' } } : {}),
  };
}

/**
 * The files of a TF.js model holding `tensors` (and `optimizer` state): `model.json` first, then
 * the shards. Throws `Unsupported` for a dtype TF.js cannot store ({@link TFJS_WRITABLE_DTYPES}),
 * naming the tensor, and `InvalidArgument` for duplicate names, before building anything.
 *
 * @example
 * const files = writeTfjsModel([{ name: 'dense/kernel', dtype: 'F32', shape: [2, 2], data }], { shardBytes: 1 << 20 });
 * // files[0].path === 'model.json', files[1].path === 'group1-shard1of1.bin'
 */
export function writeTfjsModel(tensors: readonly NamedTensor[], opts: WriteTfjsModelOptions = {}): TfjsOutputFile[] {
  const all = [...tensors, ...(opts.optimizer ?? [])];
  const plan = planTfjsModel(tensors.map(metaOf), { ...opts, optimizer: (opts.optimizer ?? []).map(metaOf) });
  const shards = plan.shards.map((s) => new Uint8Array(s.size));
  let at = 0;
  for (const t of all) {
    // Copies the tensor into whichever shards its range [at, at + length) falls in.
    let done = 0;
    while (done < t.data.byteLength) {
      const shard = Math.floor((at + done) / plan.shardBytes);
      const into = (at + done) % plan.shardBytes;
      const n = Math.min(t.data.byteLength - done, plan.shardBytes - into);
      shards[shard]!.set(t.data.subarray(done, done + n), into);
      done += n;
    }
    at += t.data.byteLength;
  }
  return [{ path: 'model.json', bytes: plan.modelJson }, ...plan.shards.map((s, i) => ({ path: s.path, bytes: shards[i]! }))];
}

const metaOf = (t: NamedTensor): TensorMeta => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength });

/** A TF.js model planned from its tensors' descriptions: model.json and the shards' names and sizes. */
export interface TfjsModelPlan {
  readonly modelJson: Uint8Array;
  readonly shardBytes: number;
  /** The shard files in order; their concatenation is the tensors' bytes, model weights then optimizer's. */
  readonly shards: readonly { readonly path: string; readonly size: number }[];
}

/**
 * Plans {@link writeTfjsModel} from the tensors' descriptions alone (`optimizer` given the same
 * way), with the same checks, so a writer can stream the shards one tensor at a time.
 */
export function planTfjsModel(
  tensors: readonly TensorMeta[], opts: Omit<WriteTfjsModelOptions, 'optimizer'> & { readonly optimizer?: readonly TensorMeta[] } = {},
): TfjsModelPlan {
  const shardBytes = opts.shardBytes ?? TFJS_DEFAULT_SHARD_BYTES;
  if (!Number.isSafeInteger(shardBytes) || shardBytes < 1) throw new EngramError('InvalidArgument', `shardBytes must be a positive integer, got ${shardBytes}`, { shardBytes });
  const all = [...tensors.map((t) => ({ t, group: undefined })), ...(opts.optimizer ?? []).map((t) => ({ t, group: 'optimizer' }))];
  const names = new Set<string>();
  const weights = all.map(({ t, group }) => {
    if (names.has(t.name)) throw new EngramError('InvalidArgument', `tensor ${JSON.stringify(t.name)} is given twice`, { tensor: t.name });
    names.add(t.name);
    return entry(t, group);
  });
  const total = all.reduce((n, { t }) => n + t.byteLength, 0);
  // One (possibly empty) shard when there are weights, so every manifest group names a file.
  const count = all.length === 0 ? 0 : Math.max(1, Math.ceil(total / shardBytes));
  const paths = Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
  const model: Record<string, unknown> = {
    ...(opts.format !== undefined ? { format: opts.format } : {}),
    generatedBy: 'engram',
    convertedBy: null,
    modelTopology: opts.modelTopology ?? null,
    ...(opts.trainingConfig !== undefined ? { trainingConfig: opts.trainingConfig } : {}),
    weightsManifest: [{ paths, weights }],
    ...(opts.metadata && Object.keys(opts.metadata).length > 0 ? { userDefinedMetadata: { ...opts.metadata } } : {}),
  };
  return {
    modelJson: new TextEncoder().encode(JSON.stringify(model)),
    shardBytes,
    shards: paths.map((path, i) => ({ path, size: Math.min(shardBytes, total - i * shardBytes) })),
  };
}

/** A file of a streamed model: its path and its bytes, produced as it is written. */
export type TfjsStreamedFile = StreamedDirectoryFile;

/**
 * {@link writeTfjsModel} for tensors loaded only when their bytes are due: model.json from the
 * descriptions, then each shard's bytes, cut from the tensors in order as they load. The shards
 * must be consumed in order (as a directory writer does), and then at most one tensor and the
 * piece of the next that crosses into the shard are in memory.
 */
export function streamTfjsModel(
  tensors: readonly LazyNamedTensor[], opts: Omit<WriteTfjsModelOptions, 'optimizer'> & { readonly optimizer?: readonly LazyNamedTensor[] } = {},
): TfjsStreamedFile[] {
  const plan = planTfjsModel(tensors, opts);
  const all = [...tensors, ...(opts.optimizer ?? [])];
  const group = streamSteps(eachTensor(all.length), all);
  let rest: Uint8Array | undefined;
  async function* shard(size: number): AsyncGenerator<Uint8Array> {
    let left = size;
    while (left > 0) {
      if (rest === undefined || rest.byteLength === 0) {
        const next = await group.next();
        if (next.done) throw new EngramError('IntegrityMismatch', `the tensors ended ${left} bytes before the shard did`, { bytes: left });
        rest = next.value;
        continue;
      }
      const n = Math.min(left, rest.byteLength);
      const piece = rest.subarray(0, n);
      rest = n === rest.byteLength ? undefined : rest.subarray(n);
      left -= n;
      yield piece;
    }
  }
  return [
    { path: 'model.json', pieces: [plan.modelJson] },
    ...plan.shards.map((s) => ({ path: s.path, pieces: shard(s.size) })),
  ];
}

/** Steps that ask for tensors 0 … n − 1 in turn and write each one's bytes as they are. */
function* eachTensor(n: number): WriteSteps {
  for (let i = 0; i < n; i++) yield received(yield i, i);
}
