/**
 * @module benchW1: 1 GiB of float32 transformer weights. Stored size against plain zstd; durable
 * save against torch.save+fsync and raw write+fsync; cold verified restore against a cold
 * torch.load, a cold raw read and memcpy; one 4 MiB tensor loaded lazily against the full restore;
 * peak RSS of the saving and restoring processes.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Repository } from '../../src/index.ts';
import { memcpyBaseline } from '../baselines/memcpy.ts';
import { rawColdRead, rawWriteFsync } from '../baselines/raw-disk.ts';
import { TORCH_ABSENT, torchSaveLoad, type TorchBaseline } from '../baselines/torch.ts';
import { zstdBaseline } from '../baselines/zstd.ts';
import type { BenchContext } from '../bench-context.ts';
import { cachePath } from '../cached-tensor-set.ts';
import { median } from '../engram-measure.ts';
import { bytes, frac, ms, rate, statusOf, type Check, type Comparison } from '../report.ts';
import { runChild } from '../run-child.ts';
import { scratchBuffer } from '../scratch-buffer.ts';
import { tensorHashes } from '../tensor-set.ts';
import { loadW1, W1_LAZY_TENSOR, w1Key } from '../workloads/w1.ts';

interface ChildSave { seconds: number; rawBytes: number; snapshot: string; rssBeforeKiB: number; maxRssKiB: number }
interface ChildRestore { lazySeconds: number[]; fullSeconds: number; rawBytes: number; bitExact: boolean; mismatched: string[]; coldCache: string; maxRssKiB: number }

const GiB = 1024 ** 3;

/** Runs W1 and records its figures. */
export async function benchW1(ctx: BenchContext): Promise<void> {
  const key = w1Key(ctx.w1Bytes);
  const t0 = performance.now();
  const set = await loadW1(ctx.w1Bytes);
  ctx.log(`W1: ${bytes(set.rawBytes)} of float32 in ${set.slots.length} tensors (ready in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const src = cachePath(key);
  const hashesPath = join(ctx.tmp, 'w1-hashes.json');
  await writeFile(hashesPath, JSON.stringify(tensorHashes(set)));

  // Baselines, same bytes, same run.
  const buf = scratchBuffer(set.data.byteLength);
  const mem = memcpyBaseline(set.data, buf);
  ctx.log(`  memcpy ${rate(mem.bytesPerSecond)}`);
  const rawDir = join(ctx.tmp, 'w1-raw');
  const rw = await rawWriteFsync(set, rawDir);
  const rr = await rawColdRead(set, rawDir, buf);
  ctx.coldMethods.add(rr.method);
  await rm(rawDir, { recursive: true, force: true });
  ctx.log(`  raw write+fsync ${rate(rw.bytesPerSecond)}, raw cold read ${rate(rr.bytesPerSecond)} (${rr.method})`);
  const z = await zstdBaseline(set, { decompress: true });
  ctx.log(`  zstd -3: ${frac(z.ratio)} of raw, compress ${rate(z.compressBytesPerSecond)}, decompress ${rate(z.decompressBytesPerSecond)}`);
  let torch: TorchBaseline | undefined;
  if (ctx.torch) {
    const pt = join(ctx.tmp, 'w1.pt');
    torch = await torchSaveLoad(src, pt);
    await rm(pt, { force: true });
    ctx.coldMethods.add(torch.coldCache);
    ctx.log(`  torch ${torch.torch}: save+fsync ${rate(torch.rawBytes / torch.saveSeconds)}, cold load ${rate(torch.rawBytes / torch.loadSeconds)}`);
  } else {
    ctx.log(`  ${TORCH_ABSENT}`);
  }

  // engram: save and restore each in a child process, so their peak RSS is their own.
  const repoPath = join(ctx.tmp, 'w1-repo');
  const save = await runChild<ChildSave>('child-save.ts', [repoPath, src, 'w1', '0'], { cpuProfDir: ctx.cpuProfDir });
  const repo = await Repository.open(repoPath);
  const stats = await repo.stats();
  await repo.close();
  ctx.log(`  engram save ${rate(set.rawBytes / save.seconds)}, stored ${bytes(stats.storedBytes)}`);
  const restore = await runChild<ChildRestore>('child-restore.ts', [repoPath, save.snapshot, src, hashesPath, W1_LAZY_TENSOR, '3'], { cpuProfDir: ctx.cpuProfDir });
  ctx.coldMethods.add(restore.coldCache);
  await rm(repoPath, { recursive: true, force: true });

  const raw = set.rawBytes;
  const sizeRatio = stats.storedBytes / raw;
  ctx.add({
    workload: 'W1', name: 'W1 size (stored/raw)', value: sizeRatio, unit: 'of raw', text: `${frac(sizeRatio)} of raw`,
    comparisons: [{ label: 'zstd -3', baseline: `${frac(z.ratio)} of raw`, ratio: sizeRatio / z.ratio }],
    target: '<=0.86', status: statusOf([{ value: sizeRatio, op: '<=', bound: 0.86 }]),
  });

  const saveRate = raw / save.seconds;
  const saveCmp: Comparison[] = [];
  const saveChecks: Check[] = [];
  if (torch) {
    const tr = torch.rawBytes / torch.saveSeconds;
    saveCmp.push({ label: 'torch.save+fsync', baseline: rate(tr), ratio: saveRate / tr });
    saveChecks.push({ value: saveRate / tr, op: '>=', bound: 1.2 });
  }
  saveCmp.push({ label: 'raw write+fsync', baseline: rate(rw.bytesPerSecond), ratio: saveRate / rw.bytesPerSecond });
  saveChecks.push({ value: saveRate / rw.bytesPerSecond, op: '>=', bound: 0.8 });
  ctx.add({
    workload: 'W1', name: 'W1 save (durable)', value: saveRate, unit: 'B/s', text: rate(saveRate), comparisons: saveCmp,
    target: torch ? '>=1.2x, >=0.8x' : '>=0.8x raw (torch absent)', status: statusOf(saveChecks),
  });

  const restoreRate = raw / restore.fullSeconds;
  const restoreCmp: Comparison[] = [];
  const restoreChecks: Check[] = [];
  if (torch) {
    const tl = torch.rawBytes / torch.loadSeconds;
    restoreCmp.push({ label: 'torch.load', baseline: rate(tl), ratio: restoreRate / tl });
    restoreChecks.push({ value: restoreRate / tl, op: '>=', bound: 3 });
  }
  restoreCmp.push(
    { label: 'raw cold read', baseline: rate(rr.bytesPerSecond), ratio: restoreRate / rr.bytesPerSecond },
    { label: 'memcpy', baseline: rate(mem.bytesPerSecond), ratio: restoreRate / mem.bytesPerSecond },
  );
  ctx.add({
    workload: 'W1', name: 'W1 restore (cold, verified)', value: restoreRate, unit: 'B/s', text: rate(restoreRate), comparisons: restoreCmp,
    target: torch ? '>=3x torch.load' : undefined, status: torch ? statusOf(restoreChecks) : 'INFO',
    note: torch ? undefined : 'torch absent',
  });

  const lazy = median(restore.lazySeconds);
  const share = lazy / restore.fullSeconds;
  ctx.add({
    workload: 'W1', name: 'W1 lazy load of one 4 MiB tensor', value: lazy, unit: 's', text: ms(lazy),
    comparisons: [{ label: 'of the full restore', baseline: ms(restore.fullSeconds), ratio: share, ratioText: `${(share * 100).toFixed(2)}%` }],
    target: '<=2%', status: statusOf([{ value: share, op: '<=', bound: 0.02 }]),
  });

  const saveRss = save.maxRssKiB * 1024;
  ctx.add({
    workload: 'W1', name: 'W1 peak RSS while saving', value: saveRss, unit: 'B', text: bytes(saveRss),
    comparisons: [{ label: 'of it the process with the data loaded, before save', baseline: bytes(save.rssBeforeKiB * 1024), ratio: (save.rssBeforeKiB * 1024) / saveRss, ratioText: `${bytes(saveRss - save.rssBeforeKiB * 1024)} over` }],
    target: '<=1.5 GiB', status: statusOf([{ value: saveRss, op: '<=', bound: 1.5 * GiB }]),
  });
  const restoreRss = restore.maxRssKiB * 1024;
  ctx.add({
    workload: 'W1', name: 'W1 peak RSS while restoring', value: restoreRss, unit: 'B', text: bytes(restoreRss),
    comparisons: [{ label: 'the preallocated target buffers', baseline: bytes(set.data.byteLength), ratio: restoreRss / set.data.byteLength, ratioText: `${bytes(restoreRss - set.data.byteLength)} over` }],
    target: '<=1.5 GiB', status: statusOf([{ value: restoreRss, op: '<=', bound: 1.5 * GiB }]),
  });

  ctx.add({
    workload: 'W1', name: 'W1 bit-exact', value: restore.bitExact ? 1 : 0, unit: '', text: restore.bitExact ? 'yes' : 'no',
    comparisons: [], target: 'yes', status: restore.bitExact ? 'PASS' : 'FAIL',
    note: restore.bitExact ? undefined : `mismatched: ${restore.mismatched.join(', ')}`,
  });
  ctx.add({
    workload: 'W1', name: 'W1 baselines', value: z.compressBytesPerSecond, unit: 'B/s',
    text: '—', comparisons: [], status: 'INFO',
    note: `zstd -3 ${rate(z.compressBytesPerSecond)} compress / ${rate(z.decompressBytesPerSecond)} decompress (4 MiB blocks, 2 in flight); ` +
      (torch ? `torch ${torch.torch} file ${frac(torch.fileBytes / torch.rawBytes)} of raw, save ${ms(torch.saveSeconds)}, load ${ms(torch.loadSeconds)}; ` : `${TORCH_ABSENT}; `) +
      `engram save ${ms(save.seconds)}, restore ${ms(restore.fullSeconds)}`,
  });
}
