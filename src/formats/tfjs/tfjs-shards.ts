/**
 * @module The shard files of one TF.js weight group, laid end to end: where each starts in the
 * group's concatenated bytes, and reading a weight's range across shard boundaries (TF.js and its
 * converter cut shards at fixed byte counts, so one weight may span several files).
 */
import { posix } from 'node:path';
import { formatError, isEngramError } from '../../errors/index.ts';
import type { ByteSource } from '../byte-source.ts';
import { checkLoadable } from '../file-tensor.ts';
import type { IngestedTensor } from '../ingested-file.ts';
import { tfjsUnsupported, type TfjsWeightGroup, type TfjsWeightSpec } from './tfjs-manifest.ts';

/** Opens a shard by its (checked, normalised) manifest path; throws `NotFound` when it is absent. */
export type OpenShard = (path: string) => Promise<ByteSource>;

/** One shard of a group: its normalised path, and where its bytes sit in the group's concatenation. */
export interface TfjsShard {
  readonly path: string;
  readonly start: number;
  readonly size: number;
}

/**
 * `path` normalised relative to the model.json's directory. A path that leaves that directory, is
 * absolute or is a URL is refused as "unsupported" (the model is then kept opaque): engram reads
 * only files that were saved beside the model.
 */
export function safeShardPath(file: string, path: string): string {
  if (path === '') throw formatError(file, 0, 'a weightsManifest path is empty');
  const p = posix.normalize(path);
  if (posix.isAbsolute(p) || p === '..' || p.startsWith('../') || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(p) || p.includes('\\') || p.includes('\0')) {
    tfjsUnsupported(file, `shard path ${JSON.stringify(path)} outside the model's directory`);
  }
  return p;
}

/** Opens `path`, runs `body`, closes it; a missing shard is "unsupported" (the model is kept opaque). */
export async function withShard<T>(file: string, open: OpenShard, path: string, body: (s: ByteSource) => Promise<T>): Promise<T> {
  let src: ByteSource;
  try {
    src = await open(path);
  } catch (e) {
    if (isEngramError(e, 'NotFound')) tfjsUnsupported(file, `shard ${JSON.stringify(path)} is missing`);
    throw e;
  }
  try {
    return await body(src);
  } finally {
    await src.close();
  }
}

/**
 * The shards of `group` with their sizes (each opened once to learn its size), checked to hold
 * every weight the group lists: a `FormatError` when the weights need more bytes than the shards have.
 * `known` gives sizes already at hand (the shard being read), so it is not opened again.
 */
export async function groupShards(file: string, group: TfjsWeightGroup, open: OpenShard, known: ReadonlyMap<string, number> = new Map()): Promise<TfjsShard[]> {
  const sizes = new Map(known);
  const shards: TfjsShard[] = [];
  let start = 0;
  for (const raw of group.paths) {
    const path = safeShardPath(file, raw);
    let size = sizes.get(path);
    if (size === undefined) {
      size = await withShard(file, open, path, async (s) => s.size);
      sizes.set(path, size);
    }
    shards.push({ path, start, size });
    start += size;
  }
  if (group.byteLength > start) {
    throw formatError(file, 0, `weights need ${group.byteLength} bytes but the group's ${shards.length} shards hold ${start}`);
  }
  return shards;
}

/** Reads `length` bytes at `offset` of the group's concatenated shards. */
export async function readGroupRange(file: string, shards: readonly TfjsShard[], open: OpenShard, offset: number, length: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const s of shards) {
    const from = Math.max(offset, s.start);
    const to = Math.min(offset + length, s.start + s.size);
    if (from >= to) continue;
    parts.push(await withShard(file, open, s.path, (src) => src.read(from - s.start, to - from)));
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  if (at !== length) throw formatError(file, offset, `weights run past the end of the shards (${at} of ${length} bytes)`);
  return out;
}

/**
 * A weight as a lazily loaded tensor: its stored bytes (quantized ones as they are), read from
 * whichever shards it spans, opened on each load — readers return no handle to close.
 */
export function groupTensor(file: string, spec: TfjsWeightSpec, shards: readonly TfjsShard[], open: OpenShard): IngestedTensor {
  const { name, dtype, shape, byteLength, offset } = spec;
  return {
    name, dtype, shape, byteLength,
    async load() {
      checkLoadable(name, byteLength);
      if (byteLength === 0) return new Uint8Array(0);
      return readGroupRange(file, shards, open, offset, byteLength);
    },
  };
}
