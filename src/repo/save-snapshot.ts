/**
 * @module The save path: chunk every item, store the chunks durably, then commit the manifest.
 * A snapshot exists iff its manifest exists, and the manifest is written last with if-absent, so a
 * crash at any instant leaves at most orphan chunks (which GC removes) and never a half snapshot.
 */
import { createHash } from 'node:crypto';
import { EngramError } from '../errors/index.ts';
import type { ObjectStore } from '../store/index.ts';
import { byteLengthOf, dtypeSize, type FileSegment } from '../tensor/index.ts';
import { Bundler } from './bundler.ts';
import { chunkItems } from './chunk-item.ts';
import { ChunkWriter, type DeltaBase } from './chunk-writer.ts';
import { maxDeltaDepth, type RepoConfig } from './config.ts';
import { newId, type Clock } from './ids.ts';
import { encodeManifest, INLINE_BLOB_MAX, manifestKey, type BlobEntry, type ChunkInfo, type ChunkRef, type FileEntry, type SnapshotManifest, type TensorEntry } from './manifest.ts';
import { checkRunName } from './ref-name.ts';
import { fileTensorName, type SaveOptions } from './save-input.ts';
import { tensorOwner } from './tensor-owner.ts';

/** What the save path needs from its repository. */
export interface SaveContext {
  readonly store: ObjectStore;
  readonly config: RepoConfig;
  readonly clock: Clock;
  /** Chunks known to exist, shared across saves. */
  readonly known: Map<string, ChunkInfo>;
  /** Chunks kept in flight at once. */
  readonly concurrency: number;
  /** The parent snapshot, whose chunks are the delta bases of this one's. */
  readonly parent?: SnapshotManifest;
  /** The verified raw bytes of a committed chunk (a delta base); `item` names who needs it. */
  readonly readChunk: (hash: string, item: string) => Promise<Uint8Array>;
}

/** The parts of a manifest the caller decides (lineage is resolved before the save). */
export interface SaveHeader {
  readonly run: string;
  readonly step: number;
  readonly parent: string | null;
}

/** Result of a save: the committed manifest and how many new bytes it stored. */
export interface SaveResult {
  readonly manifest: SnapshotManifest;
  readonly storedBytes: number;
}

/** Chunks, stores and commits one snapshot. */
export async function saveSnapshot(ctx: SaveContext, header: SaveHeader, options: SaveOptions): Promise<SaveResult> {
  checkRunName(header.run);
  const { config } = ctx;
  const writer = new ChunkWriter(ctx.store, { level: config.codec.level, concurrency: ctx.concurrency, known: ctx.known, maxDepth: maxDeltaDepth(config) });
  const parent = ctx.parent;
  const bundler = new Bundler(config.bundleSize, (raw, width) => writer.add(raw, width));
  const total = sumBytes(options);
  let done = 0;
  const progress = (n: number): void => {
    done += n;
    options.onProgress?.({ done, total });
  };

  const store = chunkItems(config, writer, bundler, progress);

  const tensors: Record<string, TensorEntry> = {};
  const addTensor = async (name: string, dtype: TensorEntry['dtype'], shape: TensorEntry['shape'], bytes: Uint8Array): Promise<void> => {
    if (Object.hasOwn(tensors, name)) throw new EngramError('InvalidArgument', `tensor ${name} is given twice`, { tensor: name });
    const byteLength = byteLengthOf(dtype, shape);
    if (bytes.byteLength !== byteLength) {
      throw new EngramError('InvalidArgument', `tensor ${name}: ${dtype}[${shape.join(', ')}] needs ${byteLength} bytes, got ${bytes.byteLength}`, { tensor: name });
    }
    const entry = { dtype, shape: [...shape], byteLength, chunks: [] as ChunkRef[] };
    tensors[name] = entry;
    await store(bytes, dtypeSize(dtype), true, (r) => void (entry.chunks = r), deltaBases(name, dtype, byteLength));
  };

  /** Chunk i of tensor `name` may be a delta against chunk i of the parent's tensor of that name. */
  const deltaBases = (name: string, dtype: TensorEntry['dtype'], byteLength: number): ((i: number, length: number) => DeltaBase | undefined) | undefined => {
    const prev = parent?.tensors[name];
    if (!parent || !prev || prev.dtype !== dtype || prev.byteLength !== byteLength) return undefined;
    return (i, length) => {
      const ref = prev.chunks[i];
      const info = ref ? parent.chunks[ref.hash] : undefined;
      // Only a whole chunk lines up element for element; a range of a bundle does not.
      if (!ref || !info || ref.offset !== 0 || ref.length !== length || info.size !== length) return undefined;
      return { hash: ref.hash, depth: info.depth ?? 0, load: () => ctx.readChunk(ref.hash, name) };
    };
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
    for (const ref of prev.chunks) writer.reference(ref.hash, parent.chunks[ref.hash]!);
    progress(prev.byteLength);
  }

  /** A tensor whose values only the file's literal bytes hold (encoded): recorded, not stored again. */
  function addInFile(name: string, path: string, dtype: TensorEntry['dtype'], shape: TensorEntry['shape'], bytes: Uint8Array): void {
    if (Object.hasOwn(tensors, name)) throw new EngramError('InvalidArgument', `tensor ${name} is given twice`, { tensor: name });
    const byteLength = byteLengthOf(dtype, shape);
    if (bytes.byteLength !== byteLength) {
      throw new EngramError('InvalidArgument', `tensor ${name}: ${dtype}[${shape.join(', ')}] needs ${byteLength} bytes, got ${bytes.byteLength}`, { tensor: name });
    }
    tensors[name] = { dtype, shape: [...shape], byteLength, chunks: [], inFile: { path, sha256: createHash('sha256').update(bytes).digest('hex') } };
  }

  const blobs: Record<string, BlobEntry> = {};
  const addBlob = async (bytes: Uint8Array): Promise<BlobEntry> => {
    const entry = { byteLength: bytes.byteLength, chunks: [] as ChunkRef[] };
    await store(bytes, 1, false, (r) => void (entry.chunks = r));
    return entry;
  };
  // Named blobs small enough live in the manifest (file literals stay chunks: they deduplicate).
  const addNamedBlob = async (bytes: Uint8Array): Promise<BlobEntry> => {
    if (bytes.byteLength === 0 || bytes.byteLength > INLINE_BLOB_MAX) return addBlob(bytes);
    return { byteLength: bytes.byteLength, chunks: [], inline: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
  };
  for (const [name, bytes] of Object.entries(options.blobs ?? {})) blobs[name] = await addNamedBlob(bytes);

  const files: FileEntry[] = [];
  const paths = new Set<string>();
  const byPath = new Map((options.files ?? []).map((f) => [f.path, f]));
  for (const f of options.files ?? []) {
    if (paths.has(f.path)) throw new EngramError('InvalidArgument', `file ${f.path} is given twice`, { path: f.path });
    paths.add(f.path);
    // A file whose tensors another saved file lists (its owner) names the owner's tensors instead.
    const owner = tensorOwner(f, byPath);
    const inLayout = new Set(f.segments.flatMap((s) => (s.kind === 'tensor' ? [s.tensor] : [])));
    for (const t of owner === undefined ? f.tensors : []) {
      const name = fileTensorName(f.path, t.name);
      if (t.literalOnly !== undefined && !inLayout.has(t.name)) addInFile(name, f.path, t.dtype, t.shape, await t.load());
      else await addTensor(name, t.dtype, t.shape, await t.load());
    }
    const named = owner ?? f.path;
    const segments: FileSegment[] = f.segments.map((s) => (s.kind === 'tensor' ? { ...s, tensor: fileTensorName(named, s.tensor) } : s));
    const withheld = (f.withheld ?? []).map((w) => ({ tensor: fileTensorName(f.path, w.name), reason: w.reason }));
    files.push({
      path: f.path, format: f.format, size: f.size, sha256: f.sha256, literal: await addBlob(f.literal), segments,
      ...(withheld.length > 0 ? { withheld } : {}),
    });
  }

  await bundler.flush();
  await writer.flush();

  const id = newId(ctx.clock);
  const manifest: SnapshotManifest = {
    format: 'engram.snapshot',
    // The lowest version that holds it: 4 when a tensor is held in a file, 3 when a blob is inline
    // (see MANIFEST_VERSIONS).
    version: Object.values(tensors).some((t) => t.inFile !== undefined) ? 4 : Object.values(blobs).some((b) => b.inline !== undefined) ? 3 : 1,
    id,
    run: header.run,
    step: header.step,
    parent: header.parent,
    createdAt: new Date(ctx.clock.now()).toISOString(),
    message: options.message ?? '',
    metrics: { ...(options.metrics ?? {}) },
    meta: { ...(options.meta ?? {}) },
    tensors,
    blobs,
    files,
    chunks: Object.fromEntries([...writer.chunks].sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  const manifestBytes = encodeManifest(manifest);
  // The commit point: chunks above are durable, so once this object exists the snapshot is whole.
  const created = await ctx.store.put(manifestKey(id), manifestBytes, { ifAbsent: true });
  if (!created) throw new EngramError('Conflict', `snapshot ${id} already exists`, { snapshot: id });
  return { manifest, storedBytes: writer.storedBytes + manifestBytes.byteLength };
}

function sumBytes(options: SaveOptions): number {
  let n = 0;
  for (const t of Object.values(options.tensors ?? {})) n += byteLengthOf(t.dtype, t.shape);
  for (const b of Object.values(options.blobs ?? {})) n += b.byteLength;
  for (const f of options.files ?? []) n += f.size;
  return n;
}
