/**
 * @module One input file of an ingest, read into what `Repository.save` keeps: its exact layout,
 * its tensors and its SHA-256.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import type { ByteSource } from '../formats/index.ts';
import { readTensorFile } from '../formats/index.ts';
import type { FileInput } from '../repo/index.ts';
import type { CollectedFile } from './collect-files.ts';

/** The SHA-256 of the file at `path`, telling `onBytes` how many bytes each piece read added. */
async function sha256File(path: string, onBytes: (n: number) => void): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path, { highWaterMark: 4 << 20 })) {
    hash.update(piece as Buffer);
    onBytes((piece as Buffer).byteLength);
  }
  return hash.digest('hex');
}

/**
 * Reads `file` (opened as `src`) with the format readers: its layout and tensors, without its
 * SHA-256 — what `ingestFiles` hands to a save that takes the hash from the original bytes as it
 * checks the layout (`FileInput.original`). A malformed file throws its reader's `FormatError` (or
 * `UnsafePickle`, …) before anything is written.
 */
export async function readFileLayout(file: CollectedFile, src: ByteSource): Promise<Omit<FileInput, 'sha256'>> {
  const ingested = await readTensorFile(src);
  // The owner's path in the snapshot; one outside the saved tree is not in this save.
  const tensorsOf = ingested.tensorsOf === undefined ? undefined : posix.normalize(posix.join(posix.dirname(file.rel), ingested.tensorsOf));
  return {
    path: file.rel, format: ingested.format, size: ingested.size,
    literal: ingested.literal, segments: ingested.segments, tensors: ingested.tensors,
    ...(ingested.withheld ? { withheld: ingested.withheld } : {}),
    ...(tensorsOf !== undefined && !tensorsOf.startsWith('../') ? { tensorsOf } : {}),
  };
}

/**
 * Reads `file` (opened as `src`) with the format readers and hashes it: the `FileInput` that
 * saves it under `file.rel`. A malformed file throws its reader's `FormatError` (or
 * `UnsafePickle`, …) before anything is written.
 */
export async function buildFileInput(file: CollectedFile, src: ByteSource, onBytes: (n: number) => void = () => {}): Promise<FileInput> {
  const layout = await readFileLayout(file, src);
  return { ...layout, sha256: await sha256File(file.abs, onBytes) };
}
