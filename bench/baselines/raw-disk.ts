/**
 * @module Raw disk baselines: the same tensors written as plain files (one per tensor) with the
 * durability engram promises (write, fsync each file, fsync the directory), and read back cold
 * into a buffer that is already touched. They measure the disk, not a format.
 */
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dropPageCache, type ColdCacheMethod } from '../cold-cache.ts';
import { slotBytes, type TensorSet } from '../tensor-set.ts';

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes each tensor of `set` to its own file in `dir` durably; returns seconds. */
export async function rawWriteFsync(set: TensorSet, dir: string): Promise<{ seconds: number; bytesPerSecond: number }> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const t0 = performance.now();
  let i = 0;
  for (const slot of set.slots) {
    const fh = await open(join(dir, `t${i++}`), 'w');
    try {
      const bytes = slotBytes(set, slot);
      let off = 0;
      while (off < bytes.byteLength) off += (await fh.write(bytes, off, bytes.byteLength - off)).bytesWritten;
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  await fsyncDir(dir);
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, bytesPerSecond: set.rawBytes / seconds };
}

/** Drops the cache of `dir`, then reads every tensor file back into `into` (touched first). */
export async function rawColdRead(set: TensorSet, dir: string, into: Uint8Array): Promise<{ seconds: number; bytesPerSecond: number; method: ColdCacheMethod }> {
  into.fill(1, 0, set.data.byteLength);
  const method = dropPageCache([dir]);
  const t0 = performance.now();
  let i = 0;
  for (const slot of set.slots) {
    const fh = await open(join(dir, `t${i++}`), 'r');
    try {
      let off = 0;
      while (off < slot.byteLength) {
        const { bytesRead } = await fh.read(into, slot.offset + off, slot.byteLength - off, off);
        if (bytesRead === 0) throw new Error(`raw file t${i - 1} is short`);
        off += bytesRead;
      }
    } finally {
      await fh.close();
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, bytesPerSecond: set.rawBytes / seconds, method };
}
