/**
 * @module The file convention `engram save/restore --rank K --world-size N` use: each rank's tensors
 * in one safetensors file, its shard layout in the `__metadata__` entry `engram.shards`, a JSON
 * object keyed by the file's tensor names:
 *
 *   {"layers.0.w": {"tensor": "layers.0.w", "offsets": [256, 0], "global_shape": [1024, 512]}}
 *
 * `tensor` (the global tensor's name) defaults to the key, so one file can hold several shards of a
 * tensor under different keys. File tensors the entry does not name are replicated. This module only
 * maps between that JSON and the save/restore inputs; reading and writing the files is the CLI's.
 */
import { EngramError } from '../errors/index.ts';
import type { DType, LazyNamedTensor, Shape } from '../tensor/index.ts';
import type { RestoredShard } from './restore-sharded.ts';
import type { ReplicatedTensorInput, ShardedTensorInput } from './sharded-input.ts';

/** The `__metadata__` key that holds the shard layout. */
export const SHARDS_METADATA_KEY = 'engram.shards';

/** Where one tensor of a rank's file sits in its global tensor. */
export interface ShardFileEntry {
  readonly tensor: string;
  readonly offsets: readonly number[];
  readonly globalShape: readonly number[];
}

/** A tensor of a rank's file, as a format reader gives it: a lazy named tensor (tensor/) whose byte length the save does not need. */
export type ShardFileTensor = Pick<LazyNamedTensor, 'name' | 'dtype' | 'shape' | 'load'>;

/** What a rank's file holds, as `saveSharded` inputs. */
export interface ShardFileContent {
  readonly tensors: Record<string, ShardedTensorInput>;
  readonly replicated: Record<string, ReplicatedTensorInput>;
}

const isIntList = (x: unknown): x is number[] => Array.isArray(x) && x.every((v) => Number.isSafeInteger(v) && (v as number) >= 0);

/** Parses `engram.shards` of file `file`; `FormatError`-like `InvalidArgument` naming the entry when malformed. */
export function parseShardsMetadata(file: string, metadata: Readonly<Record<string, string>> | undefined): Map<string, ShardFileEntry> {
  const out = new Map<string, ShardFileEntry>();
  const text = metadata?.[SHARDS_METADATA_KEY];
  if (text === undefined) return out;
  const bad = (why: string): EngramError => new EngramError('InvalidArgument', `${file}: __metadata__ ${SHARDS_METADATA_KEY} ${why}`, { file });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad('is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('is not a JSON object');
  for (const [key, v] of Object.entries(parsed as Record<string, unknown>)) {
    const e = v as { tensor?: unknown; offsets?: unknown; global_shape?: unknown };
    if (typeof e !== 'object' || e === null || !isIntList(e.offsets) || !isIntList(e.global_shape) || (e.tensor !== undefined && typeof e.tensor !== 'string')) {
      throw bad(`entry ${JSON.stringify(key)} needs "offsets" and "global_shape" lists of non-negative integers`);
    }
    out.set(key, { tensor: (e.tensor as string | undefined) ?? key, offsets: e.offsets, globalShape: e.global_shape });
  }
  return out;
}

/** Groups a rank file's tensors into sharded and replicated save inputs. */
export function shardFileContent(file: string, tensors: readonly ShardFileTensor[], layout: ReadonlyMap<string, ShardFileEntry>): ShardFileContent {
  const names = new Set(tensors.map((t) => t.name));
  for (const key of layout.keys()) {
    if (!names.has(key)) throw new EngramError('InvalidArgument', `${file}: ${SHARDS_METADATA_KEY} names ${key}, which the file does not hold`, { file, tensor: key });
  }
  const sharded: Record<string, { dtype: DType; globalShape: Shape; shards: ShardedTensorInput['shards'][number][] }> = {};
  const replicated: Record<string, ReplicatedTensorInput> = {};
  for (const t of tensors) {
    const e = layout.get(t.name);
    if (!e) {
      replicated[t.name] = { dtype: t.dtype, shape: t.shape, load: () => t.load() };
      continue;
    }
    const g = sharded[e.tensor] ??= { dtype: t.dtype, globalShape: e.globalShape, shards: [] };
    if (g.dtype !== t.dtype) throw new EngramError('InvalidArgument', `${file}: shards of ${e.tensor} have dtypes ${g.dtype} and ${t.dtype}`, { file, tensor: e.tensor });
    g.shards.push({ offsets: e.offsets, shape: t.shape, load: () => t.load() });
  }
  return { tensors: sharded, replicated };
}

/** The `__metadata__` that describes restored shards (whole tensors are left out: they read as replicated). */
export function shardsMetadata(restored: ReadonlyMap<string, RestoredShard>): Record<string, string> {
  const layout: Record<string, { offsets: readonly number[]; global_shape: readonly number[] }> = {};
  for (const [name, r] of restored) if (!r.whole) layout[name] = { offsets: r.offsets, global_shape: r.globalShape };
  return Object.keys(layout).length > 0 ? { [SHARDS_METADATA_KEY]: JSON.stringify(layout) } : {};
}
