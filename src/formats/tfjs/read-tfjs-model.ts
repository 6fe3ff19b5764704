/**
 * @module Reads a TensorFlow.js `model.json`: the file itself is kept whole as literal bytes (it is
 * JSON), and it lists every weight of its `weightsManifest` as a tensor read from the shard files
 * beside it, so `engram convert model.json …` and `engram export` see the model's tensors. The
 * shard files, read on their own (read-tfjs-shard.ts), name the same bytes as tensors, so the
 * weights are stored once.
 */
import { dirname, join } from 'node:path';
import { formatError } from '../../errors/index.ts';
import { openFileSource, type ByteSource } from '../byte-source.ts';
import type { IngestedFile, IngestedTensor } from '../ingested-file.ts';
import { parseTfjsManifest, weightGroups, type TfjsManifest } from './tfjs-manifest.ts';
import { groupShards, groupTensor, type OpenShard } from './tfjs-shards.ts';

/** The largest model.json engram parses (topologies of very deep models run to a few MB). */
export const MAX_TFJS_MODEL_JSON = 256 << 20;

/** Options of {@link readTfjsModel}. */
export interface ReadTfjsModelOptions {
  /**
   * Opens a shard by its path relative to the model.json (tests pass in-memory files). Defaults to
   * the file beside `src.name`. Should throw `NotFound` when absent.
   */
  readonly openShard?: OpenShard;
  /** The model.json already decoded by {@link readModelJson} (so a dispatcher that detected it does not parse it twice). */
  readonly model?: TfjsModelJson;
}

/** A model.json's (or bare weights manifest's) bytes and decoded JSON. */
export interface TfjsModelJson {
  readonly bytes: Uint8Array;
  /** An object with `weightsManifest` (model.json), or the list of groups itself (a weights manifest). */
  readonly json: unknown;
}

/**
 * The decoded JSON of `src` when it is a TF.js model.json (UTF-8 JSON, an object with a
 * `weightsManifest` list) or a bare weights manifest (`*-weights_manifest.json`: the list of groups
 * itself, as face-api.js ships its models), at most {@link MAX_TFJS_MODEL_JSON} bytes; else
 * undefined: any other .json (a tokenizer, a config) is not a model and is kept opaque.
 */
export async function readModelJson(src: ByteSource): Promise<TfjsModelJson | undefined> {
  if (src.size < 2 || src.size > MAX_TFJS_MODEL_JSON) return undefined;
  const bytes = await src.read(0, src.size);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  return weightGroups(json) ? { bytes, json } : undefined;
}

/** The file metadata of a model: its producer fields, and each weight's TF.js dtype, group and quantization where they say more than its dtype. */
export function tfjsMetadata(json: unknown, manifest: TfjsManifest): Record<string, string> {
  const out: Record<string, string> = {};
  const top = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
  for (const key of ['format', 'generatedBy', 'convertedBy'] as const) {
    const v = top[key];
    if (typeof v === 'string') out[key] = v;
  }
  for (const g of manifest.groups) {
    for (const w of g.weights) {
      if (!w.quantization && w.group === undefined) continue;
      out[`weight:${w.name}`] = JSON.stringify({ dtype: w.tfjsDtype, ...(w.group !== undefined ? { group: w.group } : {}), ...(w.quantization ? { quantization: w.quantization } : {}) });
    }
  }
  return out;
}

/** Opens shards beside `file` on disk. */
export function shardsBeside(file: string): OpenShard {
  return (path) => openFileSource(join(dirname(file), path));
}

/**
 * Reads a TF.js model.json or bare weights manifest. Its tensors are the manifest's weights in manifest order — quantized
 * weights as their stored uint8/uint16/float16 bytes, never dequantized, with the quantization in
 * `metadata` under `weight:<name>` — loaded from the shards on demand. Every shard is opened once
 * to check the weights fit; a missing shard or a weight engram cannot hold (string, complex64) is a
 * FormatError whose reason starts with "unsupported", so `readTensorFile` keeps the file opaque.
 *
 * @example
 * const src = await openFileSource('web_model/model.json');
 * const model = await readTfjsModel(src);   // tensors read from web_model/group1-shard*of*.bin
 */
export async function readTfjsModel(src: ByteSource, opts: ReadTfjsModelOptions = {}): Promise<IngestedFile> {
  const model = opts.model ?? (await readModelJson(src));
  if (!model) throw formatError(src.name, 0, 'not a TF.js model.json (UTF-8 JSON with a weightsManifest list)');
  const manifest = parseTfjsManifest(src.name, model.json);
  const open = opts.openShard ?? shardsBeside(src.name);
  const tensors: IngestedTensor[] = [];
  for (const g of manifest.groups) {
    const shards = await groupShards(src.name, g, open);
    for (const w of g.weights) tensors.push(groupTensor(src.name, w, shards, open));
  }
  return {
    format: 'tfjs', size: src.size, tensors, literal: model.bytes.slice(),
    segments: [{ kind: 'literal', offset: 0, length: src.size }], metadata: tfjsMetadata(model.json, manifest),
  };
}
