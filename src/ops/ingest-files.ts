/**
 * @module Ingest: files and directories on disk into one new snapshot (what `engram save` does).
 */
import { openFileSource, type ByteSource } from '../formats/index.ts';
import type { FileInput, Progress, Repository, SaveWait, Snapshot } from '../repo/index.ts';
import type { JsonValue } from '../tensor/index.ts';
import { readFileLayout } from './build-file-input.ts';
import { collectFiles } from './collect-files.ts';
import { fileVersion, originalBytes, type FileVersion, type OriginalBytes } from './original-bytes.ts';
import type { OnProgress } from './ops-progress.ts';
import { readAheadTensors } from './read-ahead-tensors.ts';
import { tensorsFromOriginal } from './tensors-from-original.ts';

/** What an ingest records besides the files: the snapshot's run, step and annotations. */
export interface IngestOptions {
  /** The run the snapshot belongs to. */
  readonly run: string;
  /** Its step; by default one past the run's latest. */
  readonly step?: number;
  readonly message?: string;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly meta?: Readonly<Record<string, JsonValue>>;
  /** Tags to point at the snapshot once it is committed. */
  readonly tags?: readonly string[];
  /** Told `reading` events as the files are opened and their structure read and checked, then `saving` events. */
  readonly onProgress?: OnProgress;
  /** Told which garbage collections the save waits for before it starts (see `Repository.save`). */
  readonly onWait?: (wait: SaveWait) => void;
}

/** The committed snapshot and how many files went into it. */
export interface IngestResult {
  readonly snapshot: Snapshot;
  readonly files: number;
}

/** Each file's version (its size for the `reading` total); an unreadable path fails as opening it would. */
async function versions(paths: readonly string[]): Promise<FileVersion[]> {
  const out: FileVersion[] = [];
  for (const path of paths) out.push(await fileVersion(path));
  return out;
}

/**
 * Saves files and directories as one new snapshot of `options.run`. A directory contributes every
 * file under it (symbolic links followed, see `collectFiles`), a file its base name. Every file's
 * structure is read and checked before anything is written, so a malformed file is refused while
 * the repository is untouched; tensor files are split into tensors that deduplicate, and every
 * file comes back byte for byte on restore: before committing, the save rebuilds each file from its
 * layout and compares it with the file on disk (a layout that does not rebuild it is refused with
 * `IntegrityMismatch`, nothing committed).
 *
 * @example
 * const { snapshot } = await ingestFiles(repo, ['ckpt/'], { run: 'r1', step: 100, onProgress: (e) => console.log(e) });
 */
export async function ingestFiles(repo: Repository, paths: readonly string[], options: IngestOptions): Promise<IngestResult> {
  const collected = await collectFiles(paths);
  const fileVersions = await versions(collected.map((f) => f.abs));
  const bytesTotal = fileVersions.reduce((a, v) => a + Number(v.size), 0);
  const filesTotal = collected.length;
  const onProgress = options.onProgress;
  const sources: (ByteSource | OriginalBytes)[] = [];
  try {
    const files: FileInput[] = [];
    let bytesDone = 0;
    onProgress?.({ phase: 'reading', bytesDone, bytesTotal, filesDone: 0, filesTotal });
    for (const [i, f] of collected.entries()) {
      const src = await openFileSource(f.abs, f.abs);
      sources.push(src);
      const layout = await readFileLayout(f, src);
      // The save compares the layout with these bytes before it commits (FileInput.original); a
      // tensor laid out whole is loaded from them too, so that it needs no compare and each byte
      // is read once. The next tensor's read starts as the save takes the current one.
      const original = await originalBytes(f.abs, fileVersions[i]!);
      sources.push(original);
      files.push({ ...layout, tensors: readAheadTensors(tensorsFromOriginal(layout, original)), original: (offset, into) => original.read(offset, into) });
      bytesDone = Math.min(bytesTotal, bytesDone + Number(fileVersions[i]!.size));
      onProgress?.({ phase: 'reading', bytesDone, bytesTotal, filesDone: files.length, filesTotal });
    }
    const snapshot = await repo.save({
      run: options.run, ...(options.step !== undefined ? { step: options.step } : {}), message: options.message ?? '',
      metrics: options.metrics ?? {}, meta: options.meta ?? {}, files, tags: options.tags ?? [],
      ...(onProgress ? { onProgress: (p: Progress) => onProgress({ phase: 'saving', bytesDone: p.done, bytesTotal: p.total }) } : {}),
      ...(options.onWait ? { onWait: options.onWait } : {}),
    });
    return { snapshot, files: files.length };
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
}

/**
 * Saves every file under `dir` (paths relative to it) as one new snapshot: `ingestFiles` with one
 * directory.
 *
 * @example
 * const { snapshot } = await ingestDirectory(repo, './checkpoint', { run: 'r1' });
 */
export function ingestDirectory(repo: Repository, dir: string, options: IngestOptions): Promise<IngestResult> {
  return ingestFiles(repo, [dir], options);
}
