/**
 * @module Ref resolution (DESIGN §2): a snapshot id or unique prefix, `run@step`, `run@latest`,
 * `run@best:<metric>`, `tag:<name>` or a bare tag, each with an optional `~N` for the N-th parent,
 * to a snapshot id. `Repository.resolve` answers through it, over the repository's manifest cache.
 */
import { EngramError } from '../errors/index.ts';
import type { ObjectStore } from '../store/index.ts';
import { isId, isIdPrefix } from './ids.ts';
import { manifestKey, type SnapshotManifest } from './manifest.ts';
import { listSnapshotIds } from './manifest-store.ts';
import { checkRefName } from './ref-name.ts';
import type { RefEvent, RefStore } from './ref-store.ts';
import { parseRef } from './ref-syntax.ts';
import { runHead } from './run-head.ts';

/** What resolution reads of a repository. */
export interface RefScope {
  readonly store: ObjectStore;
  /** Tags. */
  readonly refs: RefStore;
  /** Run heads moved by rollbacks (run-head.ts). */
  readonly heads: RefStore;
  /** Reads one manifest (cached: manifests are immutable). */
  manifest(id: string): Promise<SnapshotManifest>;
  /** Whether manifest `id` is in the cache, so it is known to exist without a request. */
  isCached(id: string): boolean;
  /** Every readable manifest (damaged ones left out), oldest first. */
  manifests(): Promise<readonly SnapshotManifest[]>;
}

/** Resolves `ref` to a snapshot id; `NotFound` when nothing matches, `InvalidArgument` when it is malformed or ambiguous. */
export async function resolveRef(scope: RefScope, ref: string): Promise<string> {
  const spec = parseRef(ref);
  let id: string | undefined;
  switch (spec.kind) {
    case 'id':
      id = (await byIdPrefix(scope, spec.id)) ?? undefined;
      break;
    case 'tag':
      id = await scope.refs.resolve(checkRefName(spec.name));
      break;
    case 'name':
      if (isIdPrefix(spec.name)) id = await byIdPrefix(scope, spec.name);
      if (id === undefined && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(spec.name)) id = await scope.refs.resolve(spec.name);
      break;
    case 'latest':
      id = (await runLatest(scope, spec.run))?.id;
      break;
    case 'step': {
      const at = (await runManifests(scope, spec.run)).filter((m) => m.step === spec.step);
      id = at.sort((a, b) => (a.id < b.id ? 1 : -1))[0]?.id;
      break;
    }
    case 'best': {
      let best: SnapshotManifest | undefined;
      for (const m of await runManifests(scope, spec.run)) {
        const v = m.metrics[spec.metric];
        if (typeof v !== 'number' || Number.isNaN(v)) continue;
        const b = best?.metrics[spec.metric];
        if (b === undefined || (spec.mode === 'min' ? v < b : v > b) || (v === b && m.id > best!.id)) best = m;
      }
      id = best?.id;
      break;
    }
  }
  if (id === undefined) throw new EngramError('NotFound', `no snapshot matches ${ref}; \`engram log\` lists snapshots`, { ref });
  for (let i = 0; i < spec.ancestor; i++) {
    const parent: string | null = (await scope.manifest(id)).parent;
    if (parent === null) throw new EngramError('NotFound', `${ref}: snapshot ${id} has no parent`, { ref });
    id = parent;
  }
  return id;
}

/**
 * The run's head (`run@latest`): the highest step, ties broken by the newest — unless a rollback
 * moved it, see run-head.ts. `manifests` may give the run's manifests already read.
 */
export async function runLatest(scope: RefScope, run: string, manifests?: readonly SnapshotManifest[]): Promise<SnapshotManifest | undefined> {
  const ms = manifests ?? (await runManifests(scope, run));
  return runHead(ms, await newestHeadEvent(scope.heads, run));
}

/** The newest head event of `run`; none for a name no rollback could have used. */
export async function newestHeadEvent(heads: RefStore, run: string): Promise<RefEvent | undefined> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(run)) return undefined;
  return heads.newest(run);
}

async function runManifests(scope: RefScope, run: string): Promise<SnapshotManifest[]> {
  return (await scope.manifests()).filter((m) => m.run === run);
}

async function byIdPrefix(scope: RefScope, prefix: string): Promise<string | undefined> {
  // A whole id names at most itself: check that one manifest instead of listing every snapshot
  // (a training run resolves its parent by id at every save).
  if (isId(prefix)) return scope.isCached(prefix) || (await scope.store.head(manifestKey(prefix))) ? prefix : undefined;
  const matches = (await listSnapshotIds(scope.store)).filter((i) => i.startsWith(prefix));
  if (matches.length > 1) throw new EngramError('InvalidArgument', `snapshot id prefix ${prefix} is ambiguous (${matches.length} snapshots)`, { ref: prefix });
  return matches[0];
}
