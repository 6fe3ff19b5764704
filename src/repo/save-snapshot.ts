/**
 * @module The save path of `Repository.save`: chunk every item through a WriteSession (chunks are
 * stored durably), then commit the manifest through commitSnapshot — the same two primitives each
 * rank and the committer of a distributed save use (distributed/).
 */
import { createHash } from 'node:crypto';
import type { CodecPool } from '../codec/index.ts';
import { EngramError } from '../errors/index.ts';
import type { ObjectStore } from '../store/index.ts';
import { byteLengthOf, type FileSegment } from '../tensor/index.ts';
import { commitSnapshot, type CommitRepository, type CommitResult } from './commit-snapshot.ts';
import type { RepoConfig } from './config.ts';
import type { Clock } from './ids.ts';
import { INLINE_BLOB_MAX, type BlobEntry, type ChunkInfo, type ChunkRef, type FileEntry, type SnapshotManifest, type TensorEntry } from './manifest.ts';
import { fileTensorName, type FileInput, type SaveOptions } from './save-input.ts';
import { LayoutCheck } from './layout-check.ts';
import { tensorOwner } from './tensor-owner.ts';
import { WriteSession } from './write-session.ts';

/** What the save path needs from its repository. */
export interface SaveContext {
  /** The store chunks and the manifest are written to: the save intent's guarded store. */
  readonly store: ObjectStore;
  readonly config: RepoConfig;
  readonly codecs: CodecPool;
  readonly clock: Clock;
  /** Chunks known to exist, shared across saves. */
  readonly known: Map<string, ChunkInfo>;
  /** Chunks kept in flight at once. */
  readonly concurrency: number;
  /** The parent snapshot, whose chunks are the delta bases of this one's. */
  readonly parent?: SnapshotManifest;
  /** The verified raw bytes of a committed chunk (a delta base); `item` names who needs it. */
  readonly readChunk: (hash: string, item: string) => Promise<Uint8Array>;
  /** Resolves refs, moves tags and hands out the committed snapshot. */
  readonly repo: CommitRepository;
}

/** The parts of a manifest the caller decides (lineage is resolved before the save). */
export interface SaveHeader {
  readonly run: string;
  readonly step: number;
  readonly parent: string | null;
}

/** Chunks, stores and commits one snapshot. */
export async function saveSnapshot(ctx: SaveContext, header: SaveHeader, options: SaveOptions): Promise<CommitResult> {
  const parent = ctx.parent;
  const total = sumBytes(options);
  let done = 0;
  const progress = (n: number): void => {
    done += n;
    options.onProgress?.({ done, total });
  };
  const session = new WriteSession({
    store: ctx.store, config: ctx.config, codecs: ctx.codecs, concurrency: ctx.concurrency, known: ctx.known,
    ...(parent ? { parent } : {}), readChunk: ctx.readChunk, onBytes: progress,
  });

  const tensors: Record<string, TensorEntry> = {};
  const addTensor = async (name: string, dtype: TensorEntry['dtype'], shape: TensorEntry['shape'], bytes: Uint8Array): Promise<void> => {
    if (Object.hasOwn(tensors, name)) throw new EngramError('InvalidArgument', `tensor ${name} is given twice`, { tensor: name });
    const byteLength = checkedByteLength(name, dtype, shape, bytes);
    const entry = { dtype, shape: [...shape], byteLength, chunks: [] as ChunkRef[] };
    tensors[name] = entry;
    await session.writeTensor(bytes, dtype, (r) => void (entry.chunks = r), session.tensorBases(name, dtype, byteLength));
  };

  for (const [name, t] of Object.entries(options.tensors ?? {})) {
    if (t.unchanged) {
      reuseUnchanged(name, t.dtype, t.shape);
      continue;
    }
    const bytes = t.data ?? (await t.load?.());
    if (!bytes) throw new EngramError('InvalidArgument', `tensor ${name} has neither data nor load()`, { tensor: name });
    await addTensor(name, t.dtype, t.shape, bytes);
  }

  /** Refers to the parent's chunks for a tensor the caller says is unchanged: no read, no hash. */
  function reuseUnchanged(name: string, dtype: TensorEntry['dtype'], shape: TensorEntry['shape']): void {
    if (Object.hasOwn(tensors, name)) throw new EngramError('InvalidArgument', `tensor ${name} is given twice`, { tensor: name });
    const prev = parent?.tensors[name];
    if (!parent || !prev || prev.inFile || prev.dtype !== dtype || prev.shape.length !== shape.length || prev.shape.some((d, i) => d !== shape[i])) {
      throw new EngramError('InvalidArgument', `tensor ${name} is marked unchanged, but the parent snapshot has no ${dtype}[${shape.join(', ')}] tensor of that name; pass its bytes instead`, { tensor: name });
    }
    tensors[name] = { dtype: prev.dtype, shape: [...prev.shape], byteLength: prev.byteLength, chunks: prev.chunks };
    for (const ref of prev.chunks) session.reference(ref.hash, parent.chunks[ref.hash]!);
    progress(prev.byteLength);
  }

  /** A tensor whose values only the file's literal bytes hold (encoded): recorded, not stored again. */
  function addInFile(name: string, path: string, dtype: TensorEntry['dtype'], shape: TensorEntry['shape'], bytes: Uint8Array): void {
    if (Object.hasOwn(tensors, name)) throw new EngramError('InvalidArgument', `tensor ${name} is given twice`, { tensor: name });
    const byteLength = checkedByteLength(name, dtype, shape, bytes);
    tensors[name] = { dtype, shape: [...shape], byteLength, chunks: [], inFile: { path, sha256: createHash('sha256').update(bytes).digest('hex') } };
  }

  const blobs: Record<string, BlobEntry> = {};
  const addBlob = async (bytes: Uint8Array): Promise<BlobEntry> => {
    const entry = { byteLength: bytes.byteLength, chunks: [] as ChunkRef[] };
    await session.writeBlob(bytes, (r) => void (entry.chunks = r));
    return entry;
  };
  // Named blobs small enough live in the manifest (file literals stay chunks: they deduplicate).
  const addNamedBlob = async (bytes: Uint8Array): Promise<BlobEntry> => {
    if (bytes.byteLength === 0 || bytes.byteLength > INLINE_BLOB_MAX) return addBlob(bytes);
    return { byteLength: bytes.byteLength, chunks: [], inline: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
  };
  for (const [name, bytes] of Object.entries(options.blobs ?? {})) blobs[name] = await addNamedBlob(bytes);

  const laidOut: { input: FileInput; entry: Omit<FileEntry, 'sha256'> }[] = [];
  const paths = new Set<string>();
  const byPath = new Map((options.files ?? []).map((f) => [f.path, f]));
  // A file whose tensors another saved file lists (its owner) names the owner's tensors instead.
  const owners = new Map((options.files ?? []).map((f) => [f, tensorOwner(f, byPath)]));
  const check = new LayoutCheck(options.files ?? [], (f, tensor) => fileTensorName(owners.get(f) ?? f.path, tensor));
  for (const f of options.files ?? []) {
    if (paths.has(f.path)) throw new EngramError('InvalidArgument', `file ${f.path} is given twice`, { path: f.path });
    paths.add(f.path);
    const owner = owners.get(f);
    const inLayout = new Set(f.segments.flatMap((s) => (s.kind === 'tensor' ? [s.tensor] : [])));
    await check.literals(f);
    for (const t of owner === undefined ? f.tensors : []) {
      const name = fileTensorName(f.path, t.name);
      const bytes = await t.load();
      if (t.literalOnly !== undefined && !inLayout.has(t.name)) {
        addInFile(name, f.path, t.dtype, t.shape, bytes);
        continue;
      }
      // Before the bytes go to the chunk writer (which may hand them to a worker).
      checkedByteLength(name, t.dtype, t.shape, bytes);
      await check.tensor(name, t.dtype, t.shape, bytes);
      await addTensor(name, t.dtype, t.shape, bytes);
    }
    const named = owner ?? f.path;
    const segments: FileSegment[] = f.segments.map((s) => (s.kind === 'tensor' ? { ...s, tensor: fileTensorName(named, s.tensor) } : s));
    const withheld = (f.withheld ?? []).map((w) => ({ tensor: fileTensorName(f.path, w.name), reason: w.reason }));
    laidOut.push({
      input: f,
      entry: { path: f.path, format: f.format, size: f.size, literal: await addBlob(f.literal), segments, ...(withheld.length > 0 ? { withheld } : {}) },
    });
  }

  // Once all files are done: a file's segments may name tensors its owner loads later.
  const files: FileEntry[] = [];
  for (const { input, entry } of laidOut) {
    const verdict = await check.finish(input);
    files.push({ ...entry, sha256: verdict.sha256, ...(verdict.verified ? { layoutVerified: true as const } : {}) });
  }
  const { chunks } = await session.finish();
  return commitSnapshot(
    { repo: ctx.repo, store: ctx.store, clock: ctx.clock },
    {
      run: header.run, step: header.step, parent: header.parent, message: options.message, metrics: options.metrics, meta: options.meta,
      tensors, blobs, files, chunks, tags: options.tags,
    },
  );
}

/** The byte length `dtype[shape]` needs, which `bytes` must have. */
function checkedByteLength(name: string, dtype: TensorEntry['dtype'], shape: TensorEntry['shape'], bytes: Uint8Array): number {
  const byteLength = byteLengthOf(dtype, shape);
  if (bytes.byteLength !== byteLength) {
    throw new EngramError('InvalidArgument', `tensor ${name}: ${dtype}[${shape.join(', ')}] needs ${byteLength} bytes, got ${bytes.byteLength}`, { tensor: name });
  }
  return byteLength;
}

function sumBytes(options: SaveOptions): number {
  let n = 0;
  for (const t of Object.values(options.tensors ?? {})) n += byteLengthOf(t.dtype, t.shape);
  for (const b of Object.values(options.blobs ?? {})) n += b.byteLength;
  for (const f of options.files ?? []) n += f.size;
  return n;
}
