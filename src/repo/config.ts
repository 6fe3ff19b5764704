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
   * Delta chains: a chunk may be stored as a delta against the same chunk of the parent snapshot, whose
   * chunk may be a delta too, up to `maxDepth` links; the next one is a keyframe. Restoring any chunk
   * decodes at most `maxDepth + 1` objects. 0 turns deltas off. Absent in configs written before
   * deltas existed, which then get the default.
   */
  readonly delta?: { readonly maxDepth: number };
  readonly createdAt: string;
}

/** Default longest delta chain (see {@link RepoConfig.delta}). */
export const DEFAULT_MAX_DELTA_DEPTH = 4;

/** The delta chain bound a config asks for. */
export function maxDeltaDepth(config: RepoConfig): number {
  return config.delta?.maxDepth ?? DEFAULT_MAX_DELTA_DEPTH;
}

/** Options a caller may set at `init`; everything else takes the default. */
export type RepoConfigOptions = Partial<Pick<RepoConfig, 'chunkSize' | 'smallThreshold' | 'bundleSize'>> & { level?: number; maxDeltaDepth?: number };

const MiB = 1024 * 1024;

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
    delta: { maxDepth: options.maxDeltaDepth ?? DEFAULT_MAX_DELTA_DEPTH },
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
    const depth = (c.delta as Record<string, unknown> | null)?.maxDepth;
    if (typeof depth !== 'number' || !Number.isSafeInteger(depth) || depth < 0 || depth > 64) {
      throw new EngramError('InvalidArgument', `config: delta.maxDepth must be an integer from 0 to 64, got ${JSON.stringify(depth)}`, { field: 'delta.maxDepth' });
    }
  }
  return raw as RepoConfig;
}
