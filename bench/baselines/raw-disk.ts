/**
 * @module Raw disk baselines: the same tensor bytes written as plain files with the durability
 * engram promises (write, fsync the file, fsync the directory) and read back cold into a buffer
 * that is already touched. They measure the disk, not a format. `one-file` (all tensors
 * concatenated, one fsync — the disk's bandwidth) is what ratios are taken against;
 * `file-per-tensor` (an fsync per file, as an object store of chunks pays) is reported alongside.
 */
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dropPageCache, type ColdCacheMethod } from '../cold-cache.ts';
import { slotBytes, type TensorSet } from '../tensor-set.ts';
import { syncDisks } from '../warm-memory.ts';

/** How the raw files are laid out. */
export type RawLayout = 'one-file' | 'file-per-tensor';

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeAll(fh: Awaited<ReturnType<typeof open>>, bytes: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < bytes.byteLength) off += (await fh.write(bytes, off, bytes.byteLength - off, position + off)).bytesWritten;
}

async function readAll(fh: Awaited<ReturnType<typeof open>>, into: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < into.byteLength) {
    const { bytesRead } = await fh.read(into, off, into.byteLength - off, position + off);
    if (bytesRead === 0) throw new Error('raw baseline file is short');
    off += bytesRead;
  }
}

/** Writes the tensors of `set` into `dir` durably; returns the time and throughput. */
export async function rawWriteFsync(set: TensorSet, dir: string, layout: RawLayout): Promise<{ seconds: number; bytesPerSecond: number }> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  syncDisks();
  const t0 = performance.now();
  if (layout === 'one-file') {
    const fh = await open(join(dir, 'all'), 'w');
    try {
      let at = 0;
      for (const slot of set.slots) {
        await writeAll(fh, slotBytes(set, slot), at);
        at += slot.byteLength;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
  } else {
    let i = 0;
    for (const slot of set.slots) {
      const fh = await open(join(dir, `t${i++}`), 'w');
      try {
        await writeAll(fh, slotBytes(set, slot), 0);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  await fsyncDir(dir);
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, bytesPerSecond: set.rawBytes / seconds };
}

/** Drops the page cache of `dir`, then reads every tensor back into `into` (laid out like `set`, touched first). */
export async function rawColdRead(set: TensorSet, dir: string, layout: RawLayout, into: Uint8Array): Promise<{ seconds: number; bytesPerSecond: number; method: ColdCacheMethod }> {
  into.fill(1, 0, set.data.byteLength);
  const method = dropPageCache([dir]);
  const t0 = performance.now();
  if (layout === 'one-file') {
    const fh = await open(join(dir, 'all'), 'r');
    try {
      let at = 0;
      for (const slot of set.slots) {
        await readAll(fh, into.subarray(slot.offset, slot.offset + slot.byteLength), at);
        at += slot.byteLength;
      }
    } finally {
      await fh.close();
    }
  } else {
    let i = 0;
    for (const slot of set.slots) {
      const fh = await open(join(dir, `t${i++}`), 'r');
      try {
        await readAll(fh, into.subarray(slot.offset, slot.offset + slot.byteLength), 0);
      } finally {
        await fh.close();
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, bytesPerSecond: set.rawBytes / seconds, method };
}
