/**
 * @module benchW1: 1 GiB of float32 transformer weights. Stored size against plain zstd; durable
 * save against torch.save+fsync and raw write+fsync; cold verified restore against a cold
 * torch.load, a cold raw read and memcpy; one 4 MiB tensor loaded lazily against the full restore;
 * peak RSS of the saving and restoring processes.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Repository } from '../engram-lib.ts';
import { memcpyBaseline } from '../baselines/memcpy.ts';
import { sha256Baseline } from '../baselines/sha256.ts';
import { rawColdRead, rawWriteFsync } from '../baselines/raw-disk.ts';
import { TORCH_ABSENT, torchSaveLoad, type TorchBaseline } from '../baselines/torch.ts';
import { zstdBaseline } from '../baselines/zstd.ts';
import type { BenchContext } from '../bench-context.ts';
import { cachePath } from '../cached-tensor-set.ts';
import { median } from '../engram-measure.ts';
import { othersShare, readCpu } from '../machine-load.ts';
import { bytes, frac, ms, rate, statusOf, type Check, type Comparison } from '../report.ts';
import { runChild } from '../run-child.ts';
import { scratchBuffer } from '../scratch-buffer.ts';
import { tensorHashes } from '../tensor-set.ts';
import { syncDisks } from '../warm-memory.ts';
import { loadW1, W1_LAZY_TENSOR, w1Key } from '../workloads/w1.ts';

interface ChildSave { seconds: number[]; cpuPerSave: number[]; rawBytes: number; snapshot: string; rssBeforeKiB: number; maxRssKiB: number; rssSource: string; getrusageMaxRssKiB: number; cpuSeconds: number }
interface ChildRestore { lazySeconds: number[]; fullSeconds: number[]; cpuPerRestore: number[]; rawBytes: number; bitExact: boolean; mismatched: string[]; coldCache: string; maxRssKiB: number; rssSource: string; cpuSeconds: number }

const GiB = 1024 ** 3;
/** Every timed contender runs this many times; the median is reported. */
const REPS = 3;

/** Runs W1 and records its figures. */
export async function benchW1(ctx: BenchContext): Promise<void> {
  const key = w1Key(ctx.w1Bytes);
  const t0 = performance.now();
  const set = await loadW1(ctx.w1Bytes);
  ctx.log(`W1: ${bytes(set.rawBytes)} of float32 in ${set.slots.length} tensors (ready in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const src = cachePath(key);
  const hashesPath = join(ctx.tmp, 'w1-hashes.json');
  await writeFile(hashesPath, JSON.stringify(tensorHashes(set)));

  // The share of the CPUs used outside the measured process while each contender ran: other work
  // on this shared machine, or kernel threads (writeback) — a high figure flags a noisy result.
  const others: Record<string, number | undefined> = {};

  // Baselines, same bytes, same run; every timed contender runs REPS times and the median counts.
  const buf = scratchBuffer(set.data.byteLength);
  const mem = memcpyBaseline(set.data, buf);
  ctx.log(`  memcpy ${rate(mem.bytesPerSecond)}`);
  const sha = sha256Baseline(set.data);
  ctx.log(`  SHA-256 (one thread, 4 MiB pieces) ${rate(sha.bytesPerSecond)} = ${sha.cpuSecondsPerGiB.toFixed(2)} CPU-s/GiB`);
  const rawDir = join(ctx.tmp, 'w1-raw');
  const rwS: number[] = [];
  const rrS: number[] = [];
  let method = '';
  for (let r = 0; r < REPS; r++) {
    rwS.push((await rawWriteFsync(set, rawDir, 'one-file')).seconds);
    const rr = await rawColdRead(set, rawDir, 'one-file', buf);
    rrS.push(rr.seconds);
    method = rr.method;
  }
  ctx.coldMethods.add(method);
  const rwPer = await rawWriteFsync(set, rawDir, 'file-per-tensor');
  const rrPer = await rawColdRead(set, rawDir, 'file-per-tensor', buf);
  await rm(rawDir, { recursive: true, force: true });
  const rwRate = set.rawBytes / median(rwS);
  const rrRate = set.rawBytes / median(rrS);
  ctx.log(`  raw write+fsync ${rate(rwRate)} (${rate(rwPer.bytesPerSecond)} a file per tensor), raw cold read ${rate(rrRate)} (${rate(rrPer.bytesPerSecond)}) (${method})`);
  const z = await zstdBaseline(set, { decompress: true });
  ctx.log(`  zstd -3: ${frac(z.ratio)} of raw, compress ${rate(z.compressBytesPerSecond)}, decompress ${rate(z.decompressBytesPerSecond)}`);
  let torch: TorchBaseline | undefined;
  if (ctx.torch) {
    const before = readCpu();
    torch = await torchSaveLoad(src, join(ctx.tmp, 'w1.pt'), REPS);
    others.torch = othersShare(before, readCpu(), torch.cpuSeconds);
    ctx.coldMethods.add(torch.coldCache);
    ctx.log(`  torch ${torch.torch}: save+fsync ${torch.saveSeconds.map((x) => rate(torch!.rawBytes / x)).join(', ')}; cold load ${torch.loadSeconds.map((x) => rate(torch!.rawBytes / x)).join(', ')}`);
  } else {
    ctx.log(`  ${TORCH_ABSENT}`);
  }

  // engram: save and restore each in a child process (REPS times inside it, as torch does), so
  // that their peak RSS is their own.
  const repoPath = join(ctx.tmp, 'w1-repo');
  let before = readCpu();
  const save = await runChild<ChildSave>('child-save.ts', [repoPath, src, 'w1', '0', String(REPS)], { cpuProfDir: ctx.cpuProfDir });
  others['engram save'] = othersShare(before, readCpu(), save.cpuSeconds);
  const repo = await Repository.open(repoPath);
  const storedTotal = (await repo.stats()).storedBytes;
  await repo.close();
  before = readCpu();
  const restore = await runChild<ChildRestore>('child-restore.ts', [repoPath, save.snapshot, src, hashesPath, W1_LAZY_TENSOR, String(REPS)], { cpuProfDir: ctx.cpuProfDir });
  others['engram restore'] = othersShare(before, readCpu(), restore.cpuSeconds);
  ctx.coldMethods.add(restore.coldCache);
  await rm(repoPath, { recursive: true, force: true });
  ctx.log(`  engram save ${save.seconds.map((x) => rate(set.rawBytes / x)).join(', ')}; restore ${restore.fullSeconds.map((x) => rate(set.rawBytes / x)).join(', ')}; stored ${bytes(storedTotal)}`);
  const saveSeconds = median(save.seconds);
  const restoreSeconds = median(restore.fullSeconds);
  const bitExact = restore.bitExact;

  const raw = set.rawBytes;
  const sizeRatio = storedTotal / raw;
  ctx.add({
    workload: 'W1', name: 'W1 size (stored/raw)', value: sizeRatio, unit: 'of raw', text: `${frac(sizeRatio)} of raw`,
    comparisons: [{ label: 'zstd -3', baseline: `${frac(z.ratio)} of raw`, ratio: sizeRatio / z.ratio }],
    target: '<=0.84', status: statusOf([{ value: sizeRatio, op: '<=', bound: 0.84 }]),
  });

  const saveRate = raw / saveSeconds;
  const saveCmp: Comparison[] = [];
  const saveChecks: Check[] = [];
  if (torch) {
    const tr = torch.rawBytes / median(torch.saveSeconds);
    saveCmp.push({ label: 'torch.save+fsync', baseline: rate(tr), ratio: saveRate / tr });
    saveChecks.push({ value: saveRate / tr, op: '>=', bound: 1.2 });
  }
  saveCmp.push({ label: 'raw write+fsync', baseline: rate(rwRate), ratio: saveRate / rwRate });
  saveChecks.push({ value: saveRate / rwRate, op: '>=', bound: 0.8 });
  ctx.add({
    workload: 'W1', name: 'W1 save (durable)', value: saveRate, unit: 'B/s', text: rate(saveRate), comparisons: saveCmp,
    target: torch ? '>=1.2x, >=0.8x' : '>=0.8x raw (torch absent)', status: statusOf(saveChecks),
  });

  const restoreRate = raw / restoreSeconds;
  const restoreCmp: Comparison[] = [];
  const restoreChecks: Check[] = [];
  if (torch) {
    const tl = torch.rawBytes / median(torch.loadSeconds);
    restoreCmp.push({ label: 'torch.load', baseline: rate(tl), ratio: restoreRate / tl });
    restoreChecks.push({ value: restoreRate / tl, op: '>=', bound: 1.2 });
  }
  restoreCmp.push(
    { label: 'raw cold read', baseline: rate(rrRate), ratio: restoreRate / rrRate },
    { label: 'memcpy', baseline: rate(mem.bytesPerSecond), ratio: restoreRate / mem.bytesPerSecond },
  );
  restoreChecks.push({ value: restoreRate / rrRate, op: '>=', bound: 0.8 });
  ctx.add({
    workload: 'W1', name: 'W1 restore (cold, verified)', value: restoreRate, unit: 'B/s', text: rate(restoreRate), comparisons: restoreCmp,
    target: torch ? '>=1.2x torch.load, >=0.8x raw' : '>=0.8x raw (torch absent)', status: statusOf(restoreChecks),
  });

  // CPU time of the measured process (user + system, every thread) per GiB: what a save or a
  // restore takes from a training job's cores, beside torch's for the same bytes.
  const gib = raw / GiB;
  for (const [what, cpu, torchCpu] of [
    ['save', save.cpuPerSave, torch?.saveCpuSeconds],
    ['restore', restore.cpuPerRestore, torch?.loadCpuSeconds],
  ] as const) {
    const perGiB = median(cpu) / gib;
    const torchPerGiB = torchCpu && torchCpu.length > 0 ? median(torchCpu) / (torch!.rawBytes / GiB) : undefined;
    ctx.add({
      workload: 'W1', name: `W1 ${what} CPU`, value: perGiB, unit: 's/GiB', text: `${perGiB.toFixed(2)} CPU-s/GiB`,
      comparisons: torchPerGiB === undefined ? [] : [{ label: `torch.${what === 'save' ? 'save' : 'load'}`, baseline: `${torchPerGiB.toFixed(2)} CPU-s/GiB`, ratio: perGiB / torchPerGiB }],
      target: '<=1.5', status: statusOf([{ value: perGiB, op: '<=', bound: 1.5 }]),
      note: `user + system of the measured process, all threads, median of the timed runs; SHA-256 alone (every chunk is hashed) ${sha.cpuSecondsPerGiB.toFixed(2)} CPU-s/GiB`,
    });
  }

  const lazy = median(restore.lazySeconds);
  const share = lazy / restoreSeconds;
  ctx.add({
    workload: 'W1', name: 'W1 lazy load of one 4 MiB tensor', value: lazy, unit: 's', text: ms(lazy),
    comparisons: [{ label: 'of the full restore', baseline: ms(restoreSeconds), ratio: share, ratioText: `${(share * 100).toFixed(2)}%` }],
    target: '<=2%', status: statusOf([{ value: share, op: '<=', bound: 0.02 }]),
  });

  const saveRss = save.maxRssKiB * 1024;
  ctx.add({
    workload: 'W1', name: 'W1 peak RSS while saving', value: saveRss, unit: 'B', text: bytes(saveRss),
    comparisons: [{ label: 'over the process holding the data before save', baseline: bytes(save.rssBeforeKiB * 1024), ratio: saveRss / (save.rssBeforeKiB * 1024), ratioText: `+${bytes(saveRss - save.rssBeforeKiB * 1024)}` }],
    target: '<=1.5 GiB', status: statusOf([{ value: saveRss, op: '<=', bound: 1.5 * GiB }]), note: `${save.rssSource} of the child`,
  });
  const restoreRss = restore.maxRssKiB * 1024;
  ctx.add({
    workload: 'W1', name: 'W1 peak RSS while restoring', value: restoreRss, unit: 'B', text: bytes(restoreRss),
    comparisons: [{ label: 'over the preallocated target buffers', baseline: bytes(set.data.byteLength), ratio: restoreRss / set.data.byteLength, ratioText: `+${bytes(restoreRss - set.data.byteLength)}` }],
    target: '<=1.5 GiB', status: statusOf([{ value: restoreRss, op: '<=', bound: 1.5 * GiB }]), note: `${restore.rssSource} of the child`,
  });

  ctx.add({
    workload: 'W1', name: 'W1 bit-exact', value: bitExact ? 1 : 0, unit: '', text: bitExact ? 'yes' : 'no',
    comparisons: [], target: 'yes', status: bitExact ? 'PASS' : 'FAIL',
    note: bitExact ? undefined : `mismatched: ${restore.mismatched.join(', ')}`,
  });
  ctx.add({
    workload: 'W1', name: 'W1 baselines', value: z.compressBytesPerSecond, unit: 'B/s',
    text: '—', comparisons: [], status: 'INFO',
    note: `medians of ${REPS}; raw one file: write+fsync ${rate(rwRate)}, cold read ${rate(rrRate)}; raw file per tensor: write+fsync ${rate(rwPer.bytesPerSecond)}, cold read ${rate(rrPer.bytesPerSecond)}; ` +
      `zstd -3 ${rate(z.compressBytesPerSecond)} compress / ${rate(z.decompressBytesPerSecond)} decompress (4 MiB blocks, 2 in flight); ` +
      (torch ? `torch ${torch.torch} file ${frac(torch.fileBytes / torch.rawBytes)} of raw, round trip ${torch.exact ? 'exact' : 'NOT exact'}, save ${ms(median(torch.saveSeconds))} (of it fsync ${ms(median(torch.fsyncSeconds))}), load ${ms(median(torch.loadSeconds))}; ` : `${TORCH_ABSENT}; `) +
      `engram save ${ms(saveSeconds)}, restore ${ms(restoreSeconds)}; CPU share used outside the measured process meanwhile (other work, kernel threads): ` +
      Object.entries(others).map(([k, v]) => `${k} ${v === undefined ? '?' : `${Math.round(v * 100)}%`}`).join(', '),
  });
}
