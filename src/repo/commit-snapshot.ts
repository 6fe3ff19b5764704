/**
 * @module The one commit of a snapshot, for ordinary saves (save-snapshot.ts) and distributed saves
 * (distributed/) alike: the header is checked before any chunk is written ({@link checkSaveHeader}),
 * the parent resolved by one rule ({@link resolveParent}), and once every chunk is durable
 * {@link commitSnapshot} writes the manifest — at the lowest version that holds it — with if-absent,
 * then moves the tags. A snapshot exists iff its manifest exists, and the manifest is written last,
 * so a crash at any instant leaves at most orphan chunks (which GC removes), never a half snapshot.
 */
import { EngramError, isEngramError } from '../errors/index.ts';
import type { ObjectStore } from '../store/index.ts';
import type { JsonValue } from '../tensor/index.ts';
import { newId, type Clock } from './ids.ts';
import { encodeManifest, lowestManifestVersion, manifestKey, type BlobEntry, type ChunkInfo, type FileEntry, type SnapshotManifest, type TensorEntry } from './manifest.ts';
import { checkRefName, checkRunName } from './ref-name.ts';
import type { RefEvent } from './ref-store.ts';
import type { Snapshot } from './snapshot.ts';

/** What a commit needs of its repository; a `Repository` is one. */
export interface CommitRepository {
  /** Resolves a ref to a snapshot id (`Repository.resolve`). */
  resolve(ref: string): Promise<string>;
  /** The tags, moved once the snapshot is committed. */
  readonly refs: { move(name: string, target: string, message: string): Promise<RefEvent> };
  /** A handle on a manifest just committed, cached without reading it back. */
  adoptSnapshot(manifest: SnapshotManifest): Snapshot;
}

/** Where and when a commit happens. */
export interface CommitTarget {
  readonly repo: CommitRepository;
  /** The store the manifest is put in: the save intent's guarded store (save-intent.ts). */
  readonly store: ObjectStore;
  /** Gives the snapshot its time-sortable id and its `createdAt`. */
  readonly clock: Clock;
}

/** The content of a snapshot to commit; its chunks must all be durable already. */
export interface SnapshotContent {
  readonly run: string;
  readonly step: number;
  /** The parent's id, as {@link resolveParent} found it; null starts a new lineage. */
  readonly parent: string | null;
  readonly message?: string;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly meta?: Readonly<Record<string, JsonValue>>;
  readonly tensors: Readonly<Record<string, TensorEntry>>;
  readonly blobs: Readonly<Record<string, BlobEntry>>;
  readonly files?: readonly FileEntry[];
  /** Every chunk the items use, delta bases included (`WriteSession.finish`), sorted by hash. */
  readonly chunks: Readonly<Record<string, ChunkInfo>>;
  /** Tags to point at the snapshot once it is committed. */
  readonly tags?: readonly string[];
}

/** What {@link commitSnapshot} committed. */
export interface CommitResult {
  readonly snapshot: Snapshot;
  /** Bytes of the manifest object. */
  readonly manifestBytes: number;
}

/**
 * Throws `InvalidArgument` unless the run name, the step (when given) and every tag are valid.
 * Called before any chunk is written, so a save that cannot commit stores nothing.
 */
export function checkSaveHeader(header: { readonly run: string; readonly step?: number | undefined; readonly tags?: readonly string[] | undefined }): void {
  checkRunName(header.run);
  const { step } = header;
  if (step !== undefined && (!Number.isSafeInteger(step) || step < 0)) throw new EngramError('InvalidArgument', `step must be a non-negative integer, got ${step}`, { step });
  for (const tag of header.tags ?? []) checkRefName(tag);
}

/**
 * The parent of a new snapshot of `run`: the snapshot `parent` names, none when it is null, and by
 * default the run's head (`run@latest`), none for a run with no snapshot yet.
 */
export async function resolveParent(repo: Pick<CommitRepository, 'resolve'>, run: string, parent: string | null | undefined): Promise<string | null> {
  if (parent === null) return null;
  if (parent !== undefined) return repo.resolve(parent);
  try {
    return await repo.resolve(`${checkRunName(run)}@latest`);
  } catch (e) {
    if (!isEngramError(e, 'NotFound')) throw e;
    return null;
  }
}

/**
 * Writes the manifest of `content` with if-absent — the commit point: the chunks are durable, so
 * once this object exists the snapshot is whole — then moves its tags. `Conflict` if the id is taken.
 */
export async function commitSnapshot(target: CommitTarget, content: SnapshotContent): Promise<CommitResult> {
  checkSaveHeader(content);
  const { clock } = target;
  const id = newId(clock);
  const manifest: SnapshotManifest = {
    format: 'engram.snapshot',
    version: lowestManifestVersion(content.tensors, content.blobs),
    id,
    run: content.run,
    step: content.step,
    parent: content.parent,
    createdAt: new Date(clock.now()).toISOString(),
    message: content.message ?? '',
    metrics: { ...(content.metrics ?? {}) },
    meta: { ...(content.meta ?? {}) },
    tensors: content.tensors,
    blobs: content.blobs,
    files: content.files ?? [],
    chunks: content.chunks,
  };
  const bytes = encodeManifest(manifest);
  const created = await target.store.put(manifestKey(id), bytes, { ifAbsent: true });
  if (!created) throw new EngramError('Conflict', `snapshot ${id} already exists`, { snapshot: id });
  const snapshot = target.repo.adoptSnapshot(manifest);
  for (const tag of content.tags ?? []) await target.repo.refs.move(tag, id, `save ${manifest.run}@${manifest.step}`);
  return { snapshot, manifestBytes: bytes.byteLength };
}
