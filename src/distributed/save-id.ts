/** @module Names of a distributed save's objects under `staging/<save-id>/` (DESIGN §3). */
import { EngramError } from '../errors/index.ts';

/**
 * The save id every rank derives from (run, step) alone, so that no rank has to tell the others:
 * `<run>@<step>`. Run names are already key-safe (ref-name.ts).
 */
export function shardedSaveId(run: string, step: number): string {
  return `${run}@${step}`;
}

/** Key of rank `rank`'s part of save `saveId`. */
export function rankPartKey(saveId: string, rank: number): string {
  return `${stagingPrefix(saveId)}rank-${rank}.json`;
}

/** The staging folder of save `saveId`. */
export function stagingPrefix(saveId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,160}$/.test(saveId)) {
    throw new EngramError('InvalidArgument', `save id ${JSON.stringify(saveId)} must be letters, digits, . _ @ - (at most 161)`, { saveId });
  }
  return `staging/${saveId}/`;
}

/** Throws `InvalidArgument` unless `rank` is a rank of a world of `worldSize`. */
export function checkRank(rank: number, worldSize: number): void {
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) throw new EngramError('InvalidArgument', `world size must be a positive integer, got ${worldSize}`, { worldSize });
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new EngramError('InvalidArgument', `rank must be an integer from 0 to ${worldSize - 1}, got ${rank}`, { rank, worldSize });
  }
}
