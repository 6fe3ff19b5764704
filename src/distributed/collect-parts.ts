/**
 * @module The committer's wait: poll `staging/<save-id>/` until every rank's part is there, backing
 * off from 20 ms to 1 s between listings, and give up after a timeout with a `Conflict` that names
 * the ranks that never arrived. Needs nothing but the object store's list and get.
 */
import { EngramError, isEngramError } from '../errors/index.ts';
import { eachConcurrently, type Clock } from '../repo/index.ts';
import type { ObjectStore } from '../store/index.ts';
import { decodeRankPart, type RankPart } from './rank-part.ts';
import { rankPartKey, stagingPrefix } from './save-id.ts';

/** Options of {@link collectParts}. */
export interface CollectOptions {
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly sleep: (ms: number) => Promise<void>;
}

/** Waits for the parts of `ranks` and returns them decoded, by rank. */
export async function collectParts(store: ObjectStore, saveId: string, ranks: readonly number[], options: CollectOptions): Promise<Map<number, RankPart>> {
  const start = options.clock.now();
  const parts = new Map<number, RankPart>();
  let delay = 20;
  for (;;) {
    const present = new Set<number>();
    for await (const o of store.list(stagingPrefix(saveId))) {
      const m = /\/rank-(\d+)\.json$/.exec(o.key);
      if (m) present.add(Number(m[1]));
    }
    // New parts are read a few at a time: a large world writes hundreds of them at once.
    const fresh = ranks.filter((r) => !parts.has(r) && present.has(r));
    await eachConcurrently(fresh, 16, async (r) => {
      const key = rankPartKey(saveId, r);
      try {
        const part = decodeRankPart(key, await store.get(key));
        if (part.rank !== r) throw new EngramError('IntegrityMismatch', `distributed save part ${key} says it is rank ${part.rank}'s`, { key, rank: part.rank });
        parts.set(r, part);
      } catch (e) {
        if (!isEngramError(e, 'NotFound')) throw e;
      }
    });
    const missing = ranks.filter((r) => !parts.has(r));
    if (missing.length === 0) return parts;
    const waited = options.clock.now() - start;
    if (waited >= options.timeoutMs) {
      throw new EngramError(
        'Conflict',
        `distributed save ${saveId}: rank${missing.length === 1 ? '' : 's'} ${missing.join(', ')} did not write ${missing.length === 1 ? 'its part' : 'their parts'} within ${Math.round(options.timeoutMs / 1000)} s; nothing was committed`,
        { save: saveId, missingRanks: missing, reason: 'timeout' },
      );
    }
    await options.sleep(Math.min(delay, Math.max(1, options.timeoutMs - waited)));
    delay = Math.min(Math.round(delay * 1.5), 1000);
  }
}
