/**
 * @module The `weightsManifest` of a TensorFlow.js `model.json`: weight groups, each a list of shard
 * paths whose concatenated bytes hold the group's weights one after another, in manifest order.
 * Parsed and checked here without touching the shards: the byte length of every weight follows
 * from its shape and stored dtype alone.
 */
import { formatError } from '../../errors/index.ts';
import { dtypeSize, type DType } from '../../tensor/index.ts';

/** The weight dtypes TF.js writes whose bytes engram holds as a dense tensor. */
export type TfjsDType = 'float32' | 'int32' | 'bool';

/** How a quantized weight is stored (TF.js `quantization`): its stored dtype and the affine parameters. */
export interface TfjsQuantization {
  readonly dtype: 'uint8' | 'uint16' | 'float16';
  /** value = stored × scale + min, for uint8/uint16. */
  readonly scale?: number;
  readonly min?: number;
  /** The dtype TF.js dequantizes to when it differs from the weight's `dtype` (newer converters). */
  readonly original_dtype?: string;
}

/** One weight of a group, with where its bytes start in the group's concatenated shards. */
export interface TfjsWeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** The dtype TF.js gives the weight once loaded. */
  readonly tfjsDtype: TfjsDType;
  /** The dtype of the bytes in the shards: the quantized dtype for a quantized weight (never dequantized). */
  readonly dtype: DType;
  readonly byteLength: number;
  /** Offset of the weight's bytes in its group's concatenated shards. */
  readonly offset: number;
  /** `optimizer` for optimizer state (TF.js `includeOptimizer`), absent for model weights. */
  readonly group?: string;
  readonly quantization?: TfjsQuantization;
}

/** One entry of `weightsManifest`. */
export interface TfjsWeightGroup {
  /** Shard paths relative to the model.json, in concatenation order. */
  readonly paths: readonly string[];
  readonly weights: readonly TfjsWeightSpec[];
  /** Bytes the weights need: the sum of their byte lengths. */
  readonly byteLength: number;
}

/** A parsed `weightsManifest`. */
export interface TfjsManifest {
  readonly groups: readonly TfjsWeightGroup[];
}

const DTYPES: Readonly<Record<TfjsDType, DType>> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };
const QUANTIZED: Readonly<Record<TfjsQuantization['dtype'], DType>> = { uint8: 'U8', uint16: 'U16', float16: 'F16' };

/** A FormatError whose reason starts with "unsupported", so `readTensorFile` keeps the file opaque. */
export function tfjsUnsupported(file: string, reason: string): never {
  throw formatError(file, 0, `unsupported ${reason}`);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** True when `json` looks like a TF.js model.json (an object with a `weightsManifest` list). */
export function hasWeightsManifest(json: unknown): json is { weightsManifest: unknown[] } {
  return isObject(json) && Array.isArray(json.weightsManifest);
}

/**
 * True when `json` is a bare weights manifest, as `tf.io.encodeWeights` users and face-api.js ship
 * it (`<name>-weights_manifest.json`): a non-empty list of groups, each an object with `paths` and
 * `weights` lists. That shape is specific enough that no config or tokenizer file has it.
 */
export function isWeightsManifestList(json: unknown): json is unknown[] {
  return Array.isArray(json) && json.length > 0 && json.every((g) => isObject(g) && Array.isArray(g.paths) && Array.isArray(g.weights));
}

/** The weight groups of a model.json or of a bare weights manifest, or undefined for any other JSON. */
export function weightGroups(json: unknown): unknown[] | undefined {
  if (hasWeightsManifest(json)) return json.weightsManifest;
  return isWeightsManifestList(json) ? json : undefined;
}

function parseQuantization(file: string, what: string, q: unknown): TfjsQuantization {
  if (!isObject(q) || typeof q.dtype !== 'string') throw formatError(file, 0, `${what} has a quantization that is not an object with a dtype`);
  if (!Object.hasOwn(QUANTIZED, q.dtype)) tfjsUnsupported(file, `${what}: quantization dtype ${JSON.stringify(q.dtype)}`);
  const dtype = q.dtype as TfjsQuantization['dtype'];
  const out: { -readonly [K in keyof TfjsQuantization]: TfjsQuantization[K] } = { dtype };
  for (const key of ['scale', 'min'] as const) {
    const v = q[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw formatError(file, 0, `${what} has a quantization ${key} that is not a finite number`);
    out[key] = v;
  }
  // uint8/uint16 mean nothing without the affine parameters TF.js dequantizes with.
  if (dtype !== 'float16' && (out.scale === undefined || out.min === undefined)) {
    throw formatError(file, 0, `${what} is quantized to ${dtype} without scale and min`);
  }
  if (typeof q.original_dtype === 'string') out.original_dtype = q.original_dtype;
  return out;
}

function parseWeight(file: string, w: unknown, offset: number, names: Set<string>): TfjsWeightSpec {
  if (!isObject(w) || typeof w.name !== 'string') throw formatError(file, 0, 'a weightsManifest weight has no name');
  const what = `weight ${JSON.stringify(w.name)}`;
  if (names.has(w.name)) throw formatError(file, 0, `${what} is listed twice`);
  names.add(w.name);
  const { shape, dtype } = w;
  if (!Array.isArray(shape) || !shape.every((d): d is number => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw formatError(file, 0, `${what} has a shape that is not a list of non-negative integers`);
  }
  if (typeof dtype !== 'string') throw formatError(file, 0, `${what} has no dtype`);
  // string weights are length-prefixed and complex64 has no engram dtype: the whole model stays opaque.
  if (!Object.hasOwn(DTYPES, dtype)) tfjsUnsupported(file, `${what}: dtype ${JSON.stringify(dtype)}`);
  const quantization = w.quantization === undefined || w.quantization === null ? undefined : parseQuantization(file, what, w.quantization);
  const stored = quantization ? QUANTIZED[quantization.dtype] : DTYPES[dtype as TfjsDType];
  // BigInt: a shape like [2^40, 2^40] must not wrap around to a plausible length.
  const bytes = shape.reduce((acc: bigint, d: number) => acc * BigInt(d), 1n) * BigInt(dtypeSize(stored));
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER - offset)) throw formatError(file, 0, `${what} of shape [${shape.join(', ')}] is too large`);
  if (w.group !== undefined && typeof w.group !== 'string') throw formatError(file, 0, `${what} has a group that is not a string`);
  return {
    name: w.name, shape: Object.freeze([...shape]), tfjsDtype: dtype as TfjsDType, dtype: stored, byteLength: Number(bytes), offset,
    ...(typeof w.group === 'string' ? { group: w.group } : {}), ...(quantization ? { quantization } : {}),
  };
}

/**
 * Parses the `weightsManifest` of a decoded model.json, or a bare weights manifest (the list itself). A malformed manifest is a `FormatError`
 * naming `file`; a weight engram cannot hold (string, complex64, an unknown quantization) is one
 * whose reason starts with "unsupported". Weight names must be unique across groups, as TF.js
 * looks weights up by name.
 */
export function parseTfjsManifest(file: string, json: unknown): TfjsManifest {
  const list = weightGroups(json);
  if (!list) throw formatError(file, 0, 'not a TF.js model.json (no weightsManifest list) nor a weights manifest (a list of groups)');
  const names = new Set<string>();
  const groups = list.map((g, i): TfjsWeightGroup => {
    if (!isObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw formatError(file, 0, `weightsManifest group ${i} is not an object with paths and weights lists`);
    }
    if (!g.paths.every((p): p is string => typeof p === 'string')) throw formatError(file, 0, `weightsManifest group ${i} has a path that is not a string`);
    let offset = 0;
    const weights = g.weights.map((w) => {
      const spec = parseWeight(file, w, offset, names);
      offset += spec.byteLength;
      return spec;
    });
    return { paths: Object.freeze([...g.paths]), weights, byteLength: offset };
  });
  return { groups };
}
