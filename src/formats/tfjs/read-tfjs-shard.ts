/**
 * @module Reads a TF.js weight shard (`group1-shard2of3.bin`) as the weights a sibling model.json
 * places in it. A group's weights run end to end through its shards, cut at fixed byte counts, so a
 * shard holds whole weights and pieces of the weights that span its edges: each becomes a tensor
 * segment covering that range of the whole weight's bytes (like ONNX external data, but ranges).
 * The tensors are whole weights, chunked at fixed offsets from their own start, so they are stored
 * once however the shards cut them and whichever other format holds the same weights.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { isEngramError } from '../../errors/index.ts';
import { openFileSource, type ByteSource } from '../byte-source.ts';
import { layoutFile, type TensorRange } from '../file-layout.ts';
import type { IngestedFile, IngestedTensor } from '../ingested-file.ts';
import { readModelJson } from './read-tfjs-model.ts';
import { parseTfjsManifest, type TfjsManifest, type TfjsWeightGroup } from './tfjs-manifest.ts';
import { groupShards, groupTensor, safeShardPath, type OpenShard, type TfjsShard } from './tfjs-shards.ts';

/** At most this many sibling .json files are parsed when looking for a shard's model. */
export const TFJS_MAX_MODEL_CANDIDATES = 16;

/** Options of {@link readTfjsShard}; both default to the shard's directory on disk. */
export interface ReadTfjsShardOptions {
  /** Names of the .json files beside the shard that may be its model. */
  readonly models?: () => Promise<readonly string[]>;
  /** Opens a file beside the shard by its path relative to the shard's directory; `NotFound` when absent. */
  readonly open?: OpenShard;
}

interface Candidate {
  readonly name: string;
  readonly manifest: TfjsManifest;
}

/**
 * Reads `src` as a shard of a TF.js model.json beside it, or returns undefined when no candidate
 * model (at most {@link TFJS_MAX_MODEL_CANDIDATES}, `model.json` first) lists it, or its group does
 * not fit the shards on disk: the caller then keeps the file opaque. A model that fails to parse is
 * ignored here; it is reported when the model itself is read. On disk, models one directory up are
 * tried too, for shards their model names as `<dir>/<shard>`.
 */
export async function readTfjsShard(src: ByteSource, opts: ReadTfjsShardOptions = {}): Promise<IngestedFile | undefined> {
  const dir = dirname(src.name);
  const self = basename(src.name);
  if (opts.models) return placeShard(src, self, await parseCandidates(await opts.models(), opts.open ?? diskOpener(dir)), opts.open ?? diskOpener(dir));
  const here = await placeShard(src, self, await diskCandidates(dir), diskOpener(dir));
  if (here) return here;
  // Shards may sit one directory below their model (`paths: ["weights/group1-shard1of2.bin"]`).
  const parent = dirname(dir);
  if (parent === dir) return undefined;
  return placeShard(src, `${basename(dir)}/${self}`, await diskCandidates(parent), diskOpener(parent));
}

const diskOpener = (dir: string): OpenShard => (p) => openFileSource(join(dir, p));

/** Lays `src` out as the shard `self` (its path relative to the candidates' directory) of the first candidate that lists it. */
async function placeShard(src: ByteSource, self: string, candidates: readonly Candidate[], openOther: OpenShard): Promise<IngestedFile | undefined> {
  // The shard itself is read through `src` (never reopened); closing the view leaves `src` open.
  const view: ByteSource = { name: src.name, size: src.size, read: (o, l) => src.read(o, l), close: async () => {} };
  const open: OpenShard = async (p) => (p === self ? view : openOther(p));
  for (const c of ordered(candidates, self)) {
    for (const group of c.manifest.groups) {
      const at = shardIndex(c.name, group, self);
      if (at === undefined) continue;
      let shards: TfjsShard[];
      try {
        shards = await groupShards(src.name, group, open, new Map([[self, src.size]]));
      } catch (e) {
        if (isEngramError(e)) return undefined;
        throw e;
      }
      return layoutShard(src, self, group, shards, shards[at]!, open, c.name);
    }
  }
  return undefined;
}

/** Candidates in the order they are tried, without the file itself, at most the limit. */
function ordered(candidates: readonly Candidate[], self: string): Candidate[] {
  return candidates.filter((c) => c.name !== self).sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : 1)).slice(0, TFJS_MAX_MODEL_CANDIDATES);
}
const rank = (name: string): number => (name === 'model.json' ? 0 : 1);

/** The index of `self` among the group's shards, or undefined when it is absent or listed twice (ambiguous). */
function shardIndex(model: string, group: TfjsWeightGroup, self: string): number | undefined {
  let found: number | undefined;
  for (const [i, raw] of group.paths.entries()) {
    let p: string;
    try {
      p = safeShardPath(model, raw);
    } catch {
      continue;
    }
    if (p !== self) continue;
    if (found !== undefined) return undefined;
    found = i;
  }
  return found;
}

async function layoutShard(src: ByteSource, self: string, group: TfjsWeightGroup, shards: readonly TfjsShard[], me: TfjsShard, open: OpenShard, model: string): Promise<IngestedFile> {
  const tensors: IngestedTensor[] = [];
  const ranges: TensorRange[] = [];
  for (const w of group.weights) {
    // The part of the weight's bytes [w.offset, w.offset + w.byteLength) inside this shard.
    const from = Math.max(w.offset, me.start);
    const to = Math.min(w.offset + w.byteLength, me.start + me.size);
    if (from >= to) continue;
    tensors.push(groupTensor(src.name, w, shards, open));
    ranges.push({ start: from - me.start, length: to - from, tensor: w.name, tensorOffset: from - w.offset });
  }
  const { literal, segments } = await layoutFile(src, ranges);
  // `self` and `model` are both relative to the model's directory; the owner is named from the shard's.
  const tensorsOf = posix.relative(posix.dirname(self), model);
  return { format: 'tfjs', size: src.size, tensors, literal, segments, metadata: { model }, tensorsOf };
}

async function parseCandidates(names: readonly string[], open: OpenShard): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for (const name of names.filter((n) => n.toLowerCase().endsWith('.json')).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1)).slice(0, TFJS_MAX_MODEL_CANDIDATES)) {
    const manifest = await parseCandidate(name, () => open(name));
    if (manifest) out.push({ name, manifest });
  }
  return out;
}

/** The manifest of one candidate, or undefined when it is missing, not a model or malformed. */
async function parseCandidate(name: string, open: () => Promise<ByteSource>): Promise<TfjsManifest | undefined> {
  let src: ByteSource | undefined;
  try {
    src = await open();
    const model = await readModelJson(src);
    return model ? parseTfjsManifest(name, model.json) : undefined;
  } catch (e) {
    if (isEngramError(e)) return undefined;
    throw e;
  } finally {
    await src?.close();
  }
}

/** How long a directory's listing is reused: saving a directory asks once per shard. */
const LISTING_TTL_MS = 10_000;
const listings = new Map<string, { readonly at: number; readonly names: readonly string[] }>();
/** Parsed candidates by path, valid while the file's size and mtime are unchanged. */
const parsed = new Map<string, { readonly key: string; readonly manifest: TfjsManifest | undefined }>();

/**
 * The model candidates in `dir`, parsed. Cached: saving a model with N shards lists the directory
 * once and parses each model.json once rather than N times.
 */
async function diskCandidates(dir: string): Promise<Candidate[]> {
  const now = Date.now();
  let names = listings.get(dir);
  if (!names || now - names.at >= LISTING_TTL_MS) {
    let all: string[];
    try {
      all = (await readdir(dir)).filter((e) => e.toLowerCase().endsWith('.json'));
    } catch {
      all = [];
    }
    if (listings.size > 256) listings.clear();
    names = { at: now, names: all };
    listings.set(dir, names);
  }
  const out: Candidate[] = [];
  for (const name of [...names.names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1)).slice(0, TFJS_MAX_MODEL_CANDIDATES)) {
    const path = join(dir, name);
    let key: string;
    try {
      const s = await stat(path);
      if (!s.isFile()) continue;
      key = `${s.size}:${s.mtimeMs}`;
    } catch {
      continue;
    }
    let hit = parsed.get(path);
    if (!hit || hit.key !== key) {
      hit = { key, manifest: await parseCandidate(name, () => openFileSource(path)) };
      if (parsed.size > 256) parsed.clear();
      parsed.set(path, hit);
    }
    if (hit.manifest) out.push({ name, manifest: hit.manifest });
  }
  return out;
}
