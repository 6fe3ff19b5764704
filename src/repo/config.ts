/** @module The repository's config.json: format version and the defaults every save uses. */
import { EngramError } from '../errors/index.ts';

/** The newest repository format this build reads and writes. */
export const REPO_FORMAT_VERSION = 1;

/** Settings stored in config.json when a repository is created. */
export interface RepoConfig {
  readonly format: 'engram.repository';
  readonly version: number;
  readonly hash: 'sha256';
  /** Bytes per fixed-offset tensor chunk. */
  readonly chunkSize: number;
  /** Tensors and literal streams under this many bytes are bundled into shared chunks. */
  readonly smallThreshold: number;
  /** Upper bound of one bundle chunk: a small change rewrites at most this much. */
  readonly bundleSize: number;
  /** FastCDC sizes for blobs and file bytes that are not tensors. */
  readonly cdc: { readonly minSize: number; readonly avgSize: number; readonly maxSize: number };
  readonly codec: { readonly name: 'zstd'; readonly level: number };
  /**
   * Delta chains: a chunk may be stored as a delta against a chunk of the parent snapshot's same
   * tensor, whose chunk may be a delta too, up to `maxDepth` links. Restoring any chunk decodes at
   * most `maxDepth + 1` objects. 0 turns deltas off. What happens once the parent's chunk is at
   * `maxDepth` is `keyframe` (see {@link DeltaKeyframeRule}). Absent in configs written before deltas
   * existed, which then get `{ maxDepth: 4 }` (a plain chain).
   */
  readonly delta?: { readonly maxDepth: number; readonly keyframe?: DeltaKeyframeRule };
  readonly createdAt: string;
}

/**
 * When a chain of deltas gives way to a new keyframe (docs/ARCHITECTURE.md, "Delta chains: what
 * restore costs"):
 * - `'chain-full'` (the rule when `keyframe` is absent): each delta is against the parent's chunk;
 *   once that chunk is `maxDepth` links from its keyframe, the next one is a keyframe.
 * - `'stops-paying'`: once the parent's chunk is at `maxDepth`, the new chunk is a delta against that
 *   chunk's own base (the link at `maxDepth - 1` of its chain), so the depth stays at `maxDepth` while
 *   the deltas pay; the next chunk is a keyframe once the parent's delta saves (against the keyframe's
 *   stored size) less than {@link KEYFRAME_WHEN_SAVING_BELOW} of what the chain's first delta saved.
 *   Every figure it needs is in the parent manifest's `chunks` map.
 */
export type DeltaKeyframeRule = 'chain-full' | 'stops-paying';

/** Longest delta chain of configs that do not say (written before deltas existed): a plain chain. */
export const DEFAULT_MAX_DELTA_DEPTH = 4;

/**
 * What a new repository gets when `init` is given no delta option: restores decode at most three
 * objects per chunk, and W3 / ckpt_seq sequences stay within their size targets (measured in
 * docs/ARCHITECTURE.md).
 */
export const NEW_REPO_DELTA = { maxDepth: 2, keyframe: 'stops-paying' } as const;

/**
 * The `'stops-paying'` threshold: a chain ends once its newest delta saves less than this fraction
 * of what its first delta saved. 0.7 puts the keyframes of W3's fp32 and bf16 sequences at the same
 * checkpoint, so the rule does not depend on the dtype.
 */
export const KEYFRAME_WHEN_SAVING_BELOW = 0.7;

/** The delta chain bound a config asks for. */
export function maxDeltaDepth(config: RepoConfig): number {
  return config.delta?.maxDepth ?? DEFAULT_MAX_DELTA_DEPTH;
}

/** When a config's delta chains end (`'chain-full'` unless it says otherwise). */
export function deltaKeyframeRule(config: RepoConfig): DeltaKeyframeRule {
  return config.delta?.keyframe ?? 'chain-full';
}

/**
 * Options a caller may set at `init`; everything else takes the default. With neither delta option a
 * repository gets {@link NEW_REPO_DELTA}; `maxDeltaDepth` alone keeps its documented meaning, a plain
 * chain of that depth (`'chain-full'`); `deltaKeyframe` alone keeps the new default depth.
 */
export type RepoConfigOptions = Partial<Pick<RepoConfig, 'chunkSize' | 'smallThreshold' | 'bundleSize'>> & { level?: number; maxDeltaDepth?: number; deltaKeyframe?: DeltaKeyframeRule };

const MiB = 1024 * 1024;

function newRepoDelta(options: RepoConfigOptions): NonNullable<RepoConfig['delta']> {
  const keyframe = options.deltaKeyframe ?? (options.maxDeltaDepth === undefined ? NEW_REPO_DELTA.keyframe : 'chain-full');
  return { maxDepth: options.maxDeltaDepth ?? NEW_REPO_DELTA.maxDepth, keyframe };
}

/** The config a new repository gets. */
export function defaultConfig(options: RepoConfigOptions = {}, now = new Date()): RepoConfig {
  const config: RepoConfig = {
    format: 'engram.repository',
    version: REPO_FORMAT_VERSION,
    hash: 'sha256',
    chunkSize: options.chunkSize ?? 4 * MiB,
    smallThreshold: options.smallThreshold ?? 64 * 1024,
    bundleSize: options.bundleSize ?? MiB,
    cdc: { minSize: 64 * 1024, avgSize: 256 * 1024, maxSize: MiB },
    codec: { name: 'zstd', level: options.level ?? 3 },
    delta: newRepoDelta(options),
    createdAt: now.toISOString(),
  };
  return validateConfig(config);
}

function positiveInt(v: unknown, what: string, max = 1024 * MiB): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > max) {
    throw new EngramError('InvalidArgument', `config: ${what} must be a positive integer ≤ ${max}, got ${JSON.stringify(v)}`, { field: what });
  }
  return v;
}

/** Checks a parsed config.json; a newer format is `Unsupported`, a damaged one `InvalidArgument`. */
export function validateConfig(raw: unknown): RepoConfig {
  if (typeof raw !== 'object' || raw === null) throw new EngramError('InvalidArgument', 'config.json is not an object');
  const c = raw as Record<string, unknown>;
  if (c.format !== 'engram.repository') throw new EngramError('InvalidArgument', 'config.json is not an engram repository config');
  if (typeof c.version !== 'number' || c.version > REPO_FORMAT_VERSION) {
    throw new EngramError('Unsupported', `repository format ${String(c.version)} is newer than this engram reads (${REPO_FORMAT_VERSION})`, { version: c.version });
  }
  if (c.hash !== 'sha256') throw new EngramError('Unsupported', `hash ${String(c.hash)} is not supported`);
  positiveInt(c.chunkSize, 'chunkSize');
  positiveInt(c.smallThreshold, 'smallThreshold');
  positiveInt(c.bundleSize, 'bundleSize');
  const cdc = c.cdc as Record<string, unknown> | undefined;
  positiveInt(cdc?.minSize, 'cdc.minSize');
  positiveInt(cdc?.avgSize, 'cdc.avgSize');
  positiveInt(cdc?.maxSize, 'cdc.maxSize');
  const codec = c.codec as Record<string, unknown> | undefined;
  if (codec?.name !== 'zstd') throw new EngramError('Unsupported', `codec ${String(codec?.name)} is not supported`);
  positiveInt(codec.level, 'codec.level', 22);
  if (c.delta !== undefined) {
    const delta = c.delta as Record<string, unknown> | null;
    const depth = delta?.maxDepth;
    if (typeof depth !== 'number' || !Number.isSafeInteger(depth) || depth < 0 || depth > 64) {
      throw new EngramError('InvalidArgument', `config: delta.maxDepth must be an integer from 0 to 64, got ${JSON.stringify(depth)}`, { field: 'delta.maxDepth' });
    }
    const keyframe = delta?.keyframe;
    if (keyframe !== undefined && keyframe !== 'chain-full' && keyframe !== 'stops-paying') {
      throw new EngramError('InvalidArgument', `config: delta.keyframe must be "chain-full" or "stops-paying", got ${JSON.stringify(keyframe)}`, { field: 'delta.keyframe' });
    }
  }
  return raw as RepoConfig;
}
