/**
 * @module benchW2: W1 in bfloat16. Stored size against plain zstd; durable save and cold verified
 * restore throughput against plain zstd -3 compressing and decompressing the same bytes (the same
 * binding, 2 blocks in flight): a better ratio than zstd's must come at zstd's speed. Save and
 * restore run in child processes, 3 times each, like W1's.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Repository } from '../engram-lib.ts';
import { zstdBaseline } from '../baselines/zstd.ts';
import type { BenchContext } from '../bench-context.ts';
import { cachePath } from '../cached-tensor-set.ts';
import { median } from '../engram-measure.ts';
import { bytes, frac, rate, statusOf } from '../report.ts';
import { runChild } from '../run-child.ts';
import { tensorHashes } from '../tensor-set.ts';
import { loadW1, W1_LAZY_TENSOR, w1Key } from '../workloads/w1.ts';
import { loadW2 } from '../workloads/w2.ts';

interface ChildSave { seconds: number[]; snapshot: string }
interface ChildRestore { fullSeconds: number[]; bitExact: boolean; coldCache: string }
const REPS = 3;

/** Runs W2 and records its figures. */
export async function benchW2(ctx: BenchContext): Promise<void> {
  const t0 = performance.now();
  const set = await loadW2(w1Key(ctx.w1Bytes), () => loadW1(ctx.w1Bytes));
  ctx.log(`W2: ${bytes(set.rawBytes)} of bfloat16 (ready in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const z = await zstdBaseline(set, { decompress: true });
  ctx.log(`  zstd -3: ${frac(z.ratio)} of raw`);

  const repoPath = join(ctx.tmp, 'w2-repo');
  const src = cachePath(`${w1Key(ctx.w1Bytes).replace(/^w1-/, 'w2-')}`);
  const hashesPath = join(ctx.tmp, 'w2-hashes.json');
  await writeFile(hashesPath, JSON.stringify(tensorHashes(set)));
  const save = await runChild<ChildSave>('child-save.ts', [repoPath, src, 'w2', '0', String(REPS)], { cpuProfDir: ctx.cpuProfDir });
  const repo = await Repository.open(repoPath);
  const stored = (await repo.stats()).storedBytes;
  await repo.close();
  const restore = await runChild<ChildRestore>('child-restore.ts', [repoPath, save.snapshot, src, hashesPath, W1_LAZY_TENSOR, String(REPS)], { cpuProfDir: ctx.cpuProfDir });
  ctx.coldMethods.add(restore.coldCache);
  await rm(repoPath, { recursive: true, force: true });
  ctx.log(`  engram save ${save.seconds.map((x) => rate(set.rawBytes / x)).join(', ')}; restore ${restore.fullSeconds.map((x) => rate(set.rawBytes / x)).join(', ')}; zstd -3 ${rate(z.compressBytesPerSecond)} / ${rate(z.decompressBytesPerSecond)}`);

  const ratio = stored / set.rawBytes;
  ctx.add({
    workload: 'W2', name: 'W2 size (stored/raw)', value: ratio, unit: 'of raw', text: `${frac(ratio)} of raw`,
    comparisons: [{ label: 'zstd -3', baseline: `${frac(z.ratio)} of raw`, ratio: ratio / z.ratio }],
    target: '<=0.67', status: statusOf([{ value: ratio, op: '<=', bound: 0.67 }]),
  });
  const saveRate = set.rawBytes / median(save.seconds);
  ctx.add({
    workload: 'W2', name: 'W2 save (durable)', value: saveRate, unit: 'B/s', text: rate(saveRate),
    comparisons: [{ label: 'zstd -3 compress alone', baseline: rate(z.compressBytesPerSecond), ratio: saveRate / z.compressBytesPerSecond }],
    target: '>=1.0x', status: statusOf([{ value: saveRate / z.compressBytesPerSecond, op: '>=', bound: 1 }]),
  });
  const restoreRate = set.rawBytes / median(restore.fullSeconds);
  ctx.add({
    workload: 'W2', name: 'W2 restore (cold, verified)', value: restoreRate, unit: 'B/s', text: rate(restoreRate),
    comparisons: [{ label: 'zstd -3 decompress alone', baseline: rate(z.decompressBytesPerSecond), ratio: restoreRate / z.decompressBytesPerSecond }],
    target: '>=1.0x', status: statusOf([{ value: restoreRate / z.decompressBytesPerSecond, op: '>=', bound: 1 }]),
  });
  ctx.add({
    workload: 'W2', name: 'W2 bit-exact', value: restore.bitExact ? 1 : 0, unit: '', text: restore.bitExact ? 'yes' : 'no',
    comparisons: [], target: 'yes', status: restore.bitExact ? 'PASS' : 'FAIL',
  });
}
