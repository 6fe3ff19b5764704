/**
 * @module Snapshot: a read handle on one committed checkpoint. Tensors load lazily — asking for one
 * reads only its chunks — and every byte returned has been re-hashed against its chunk key.
 */
import { createHash } from 'node:crypto';
import { EngramError } from '../errors/index.ts';
import { Tensor } from '../tensor/index.ts';
import type { ChunkReader } from './chunk-reader.ts';
import type { FileEntry, SnapshotManifest, TensorEntry } from './manifest.ts';
import type { JsonValue } from '../tensor/index.ts';
import { readTensorRegion } from './tensor-region.ts';
import { eachConcurrently } from './each-concurrently.ts';
import { filePieces } from './file-pieces.ts';

/**
 * Decodes tensor `tensor` (its name within the file) from the exact bytes of file `path`: what a
 * tensor held only inside a compressed file needs (`TensorEntry.inFile`). The repository cannot
 * parse formats (DESIGN §5), so a caller that can passes one: formats/ `decodeFileTensor`.
 */
export type FileTensorDecoder = (file: { readonly path: string; readonly bytes: Uint8Array }, tensor: string) => Promise<Uint8Array>;

/** A committed, immutable snapshot. */
export class Snapshot {
  /** The manifest as stored. */
  readonly manifest: SnapshotManifest;
  readonly #reader: ChunkReader;
  readonly #decoder: FileTensorDecoder | undefined;
  /** The last file rebuilt for a tensor held in it: the other tensors of that file need it too. */
  #lastFile: { path: string; bytes: Uint8Array } | undefined;

  /** @internal Built by Repository. */
  constructor(manifest: SnapshotManifest, reader: ChunkReader, decoder?: FileTensorDecoder) {
    this.manifest = manifest;
    this.#reader = reader;
    this.#decoder = decoder;
  }

  get id(): string { return this.manifest.id; }
  get run(): string { return this.manifest.run; }
  get step(): number { return this.manifest.step; }
  get parent(): string | null { return this.manifest.parent; }
  get createdAt(): string { return this.manifest.createdAt; }
  get message(): string { return this.manifest.message; }
  get metrics(): Readonly<Record<string, number>> { return this.manifest.metrics; }
  get meta(): Readonly<Record<string, JsonValue>> { return this.manifest.meta; }
  /** The files this snapshot can rebuild byte for byte. */
  get files(): readonly FileEntry[] { return this.manifest.files; }

  /** Names of every tensor, in manifest order. */
  tensorNames(): string[] {
    return Object.keys(this.manifest.tensors);
  }

  /** Names of every blob. */
  blobNames(): string[] {
    return Object.keys(this.manifest.blobs);
  }

  /**
   * The full name of a tensor: `name` itself, or the one tensor whose name ends in `:name` or
   * `/name` (so `weight` finds `model.safetensors:weight`). Throws `NotFound` or, when ambiguous,
   * `InvalidArgument` listing the candidates.
   */
  resolveTensorName(name: string): string {
    if (Object.hasOwn(this.manifest.tensors, name)) return name;
    const candidates = this.tensorNames().filter((n) => n.endsWith(`:${name}`) || n.endsWith(`/${name}`));
    if (candidates.length === 1) return candidates[0]!;
    if (candidates.length > 1) {
      throw new EngramError('InvalidArgument', `tensor name ${name} is ambiguous in snapshot ${this.id}: ${candidates.slice(0, 5).join(', ')}`, { tensor: name, candidates });
    }
    const withheld = this.#withheld(name);
    if (withheld) {
      throw new EngramError('Unsupported', `tensor ${withheld.tensor} of file ${withheld.path} is not stored as a tensor: ${withheld.reason}; \`engram restore ${this.id}\` gives back the file byte for byte`, {
        snapshot: this.id, tensor: withheld.tensor, path: withheld.path, reason: withheld.reason,
      });
    }
    throw new EngramError('NotFound', `snapshot ${this.id} has no tensor ${name}; \`engram show ${this.id}\` lists them`, { snapshot: this.id, tensor: name });
  }

  /** The file tensor `name` (full or a unique suffix, as for tensors) that a file holds but the snapshot does not store. */
  #withheld(name: string): { tensor: string; reason: string; path: string } | undefined {
    const all = this.manifest.files.flatMap((f) => (f.withheld ?? []).map((w) => ({ ...w, path: f.path })));
    const exact = all.find((w) => w.tensor === name);
    if (exact) return exact;
    const candidates = all.filter((w) => w.tensor.endsWith(`:${name}`) || w.tensor.endsWith(`/${name}`));
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  /** Dtype, shape and chunks of a tensor, without reading it. */
  tensorInfo(name: string): TensorEntry {
    return this.manifest.tensors[this.resolveTensorName(name)]!;
  }

  /**
   * Loads one tensor, reading only its chunks. `into` receives the bytes in place (it must have
   * exactly the tensor's byte length), so a training loop can restore into its own buffers.
   *
   * @example const w = await snap.tensor('model/dense/kernel'); w.toFloat32();
   */
  async tensor(name: string, options: { into?: Uint8Array } = {}): Promise<Tensor> {
    const full = this.resolveTensorName(name);
    const t = this.manifest.tensors[full]!;
    if (t.inFile) return new Tensor(t.dtype, t.shape, await this.#fromFile(full, t, t.inFile, options.into));
    // A sharded tensor (a distributed save) is assembled from its shards.
    const data = t.shards
      ? await readTensorRegion(this.#reader, full, t, { offsets: t.shape.map(() => 0), shape: t.shape }, options)
      : await this.#reader.read(t.chunks, t.byteLength, `tensor ${full}`, options.into, undefined, this.manifest.chunks);
    return new Tensor(t.dtype, t.shape, data);
  }

  /**
   * Loads the box `offsets` … `offsets + shape` of a tensor (whole or sharded), reading only the
   * chunks that hold bytes of it: load-time resharding for a rank that needs only its part.
   *
   * @example const rows = await snap.readRegion('model/w', [128, 0], [128, 512]);
   */
  async readRegion(name: string, offsets: readonly number[], shape: readonly number[], options: { into?: Uint8Array } = {}): Promise<Tensor> {
    const full = this.resolveTensorName(name);
    const t = this.manifest.tensors[full]!;
    if (t.inFile) {
      throw new EngramError('Unsupported', `tensor ${full} is held inside file ${t.inFile.path}, encoded: load it whole (snapshot.tensor) rather than a region`, { tensor: full, path: t.inFile.path });
    }
    const data = await readTensorRegion(this.#reader, full, t, { offsets, shape }, options);
    return new Tensor(t.dtype, [...shape], data);
  }

  /**
   * Loads every tensor (whole restore), several at once so that every codec worker is busy. `into`
   * may supply a destination buffer per tensor (in-place load into a model's existing weights);
   * tensors it returns nothing for get a new buffer.
   *
   * @example
   * const weights = await snap.tensors({ into: (name) => model.buffers.get(name) });
   */
  async tensors(options: { into?: (name: string, info: TensorEntry) => Uint8Array | undefined; concurrency?: number } = {}): Promise<Map<string, Tensor>> {
    const names = this.tensorNames();
    const loaded = new Array<Tensor | undefined>(names.length);
    await eachConcurrently(names, options.concurrency ?? 4, async (name, i) => {
      loaded[i] = await this.tensor(name, { into: options.into?.(name, this.manifest.tensors[name]!) });
    });
    return new Map(names.map((n, i) => [n, loaded[i]!]));
  }

  /** Loads one blob. */
  async blob(name: string): Promise<Uint8Array> {
    const b = this.manifest.blobs[name];
    if (!b) throw new EngramError('NotFound', `snapshot ${this.id} has no blob ${name}`, { snapshot: this.id, blob: name });
    // Inline bytes were checked with the manifest (its checksum covers them, decodeManifest their length).
    if (b.inline !== undefined) return new Uint8Array(Buffer.from(b.inline, 'base64'));
    return this.#reader.read(b.chunks, b.byteLength, `blob ${name}`, undefined, undefined, this.manifest.chunks);
  }

  /**
   * The values of a tensor held only inside a file: the file is rebuilt (checked against its
   * SHA-256), the decoder reads the tensor from it, and the values are checked against the SHA-256
   * recorded at save, so a decoder that disagrees with the one used at save is an IntegrityMismatch.
   */
  async #fromFile(full: string, t: TensorEntry, where: { path: string; sha256: string }, into: Uint8Array | undefined): Promise<Uint8Array> {
    if (!this.#decoder) {
      throw new EngramError('Unsupported', `tensor ${full} is held only inside file ${where.path} (encoded, e.g. compressed); open the repository with a fileTensorDecoder (formats' decodeFileTensor; the CLI does), or restore the file`, {
        tensor: full, path: where.path,
      });
    }
    let file = this.#lastFile;
    if (file?.path !== where.path) {
      const pieces: Uint8Array[] = [];
      for await (const piece of this.readFile(where.path)) pieces.push(piece);
      file = { path: where.path, bytes: new Uint8Array(Buffer.concat(pieces)) };
      this.#lastFile = file;
    }
    const inner = full === where.path ? '' : full.slice(where.path.length + 1);
    const data = await this.#decoder(file, inner);
    const actual = createHash('sha256').update(data).digest('hex');
    if (data.byteLength !== t.byteLength || actual !== where.sha256) {
      throw new EngramError('IntegrityMismatch', `tensor ${full} decoded from file ${where.path} to ${data.byteLength} bytes with SHA-256 ${actual}, expected ${t.byteLength} bytes ${where.sha256}`, {
        tensor: full, path: where.path, expected: where.sha256, actual,
      });
    }
    if (!into) return data;
    if (into.byteLength !== data.byteLength) {
      throw new EngramError('InvalidArgument', `tensor ${full} has ${data.byteLength} bytes; the buffer given has ${into.byteLength}`, { tensor: full });
    }
    into.set(data);
    return into;
  }

  /**
   * Rebuilds file `path` piece by piece, in order, each piece a view of a decoded chunk (see
   * `filePieces`: chunks decode ahead of the piece being consumed; pieces are never reused unless
   * `options.transient`, which makes each valid only until the next is asked for). A
   * rebuilt file that does not match its recorded size (and, for files whose layout the save did not
   * check against the original, its SHA-256) throws `IntegrityMismatch` after the last piece, so a
   * caller writing to a temp file discards it instead of keeping a wrong file.
   */
  async *readFile(path: string, options: { readonly transient?: boolean } = {}): AsyncGenerator<Uint8Array> {
    const file = this.manifest.files.find((f) => f.path === path);
    if (!file) throw new EngramError('NotFound', `snapshot ${this.id} has no file ${path}`, { snapshot: this.id, path });
    yield* filePieces(this.#reader, this.manifest, file, options);
  }
}
