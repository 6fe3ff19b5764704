/**
 * @module Manifests in the store: read one by id (checked, `NotFound` naming the snapshot when it
 * is gone) and list the ids of every committed snapshot. Shared by the Repository (which caches
 * what it reads), GC and the distributed committer (which must read past any cache).
 */
import { EngramError, isEngramError } from '../errors/index.ts';
import type { ObjectStore } from '../store/index.ts';
import { decodeManifest, manifestKey, type SnapshotManifest } from './manifest.ts';

/** Reads and checks the manifest of snapshot `id` from `store`; `NotFound` when there is none. */
export async function readManifest(store: ObjectStore, id: string): Promise<SnapshotManifest> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(manifestKey(id));
  } catch (e) {
    if (isEngramError(e, 'NotFound')) throw new EngramError('NotFound', `no snapshot ${id}`, { snapshot: id }, { cause: e });
    throw e;
  }
  return decodeManifest(id, bytes);
}

/** Ids of every committed snapshot in `store`, oldest first (ids are time-sortable). */
export async function listSnapshotIds(store: ObjectStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const o of store.list('snapshots/')) {
    const m = /^snapshots\/([0-9A-Z]{26})\.json$/.exec(o.key);
    if (m) ids.push(m[1]!);
  }
  return ids.sort();
}
