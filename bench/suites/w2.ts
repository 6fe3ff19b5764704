/**
 * @module benchW2: W1 in bfloat16. Stored size against plain zstd, with the save and cold
 * verified restore throughput for information.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Repository } from '../../src/index.ts';
import { zstdBaseline } from '../baselines/zstd.ts';
import type { BenchContext } from '../bench-context.ts';
import { restoreMeasured, saveMeasured } from '../engram-measure.ts';
import { bytes, frac, rate, statusOf } from '../report.ts';
import { scratchBuffer } from '../scratch-buffer.ts';
import { loadW1, w1Key } from '../workloads/w1.ts';
import { loadW2 } from '../workloads/w2.ts';

/** Runs W2 and records its figures. */
export async function benchW2(ctx: BenchContext): Promise<void> {
  const t0 = performance.now();
  const set = await loadW2(w1Key(ctx.w1Bytes), () => loadW1(ctx.w1Bytes));
  ctx.log(`W2: ${bytes(set.rawBytes)} of bfloat16 (ready in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const z = await zstdBaseline(set, { decompress: true });
  ctx.log(`  zstd -3: ${frac(z.ratio)} of raw`);

  const repoPath = join(ctx.tmp, 'w2-repo');
  const repo = await Repository.init(repoPath);
  const save = await saveMeasured(repo, set, 'w2', 0);
  const stored = (await repo.stats()).storedBytes;
  await repo.close();
  const restore = await restoreMeasured(repoPath, save.id, set, scratchBuffer(set.data.byteLength));
  ctx.coldMethods.add(restore.coldCache);
  await rm(repoPath, { recursive: true, force: true });

  const ratio = stored / set.rawBytes;
  ctx.add({
    workload: 'W2', name: 'W2 size (stored/raw)', value: ratio, unit: 'of raw', text: `${frac(ratio)} of raw`,
    comparisons: [{ label: 'zstd -3', baseline: `${frac(z.ratio)} of raw`, ratio: ratio / z.ratio }],
    target: '<=0.68', status: statusOf([{ value: ratio, op: '<=', bound: 0.68 }]),
  });
  const saveRate = set.rawBytes / save.seconds;
  ctx.add({
    workload: 'W2', name: 'W2 save (durable)', value: saveRate, unit: 'B/s', text: rate(saveRate),
    comparisons: [{ label: 'zstd -3 compress alone', baseline: rate(z.compressBytesPerSecond), ratio: saveRate / z.compressBytesPerSecond }],
    status: 'INFO',
  });
  const restoreRate = set.rawBytes / restore.seconds;
  ctx.add({
    workload: 'W2', name: 'W2 restore (cold, verified)', value: restoreRate, unit: 'B/s', text: rate(restoreRate),
    comparisons: [{ label: 'zstd -3 decompress alone', baseline: rate(z.decompressBytesPerSecond), ratio: restoreRate / z.decompressBytesPerSecond }],
    status: 'INFO',
  });
  ctx.add({
    workload: 'W2', name: 'W2 bit-exact', value: restore.bitExact ? 1 : 0, unit: '', text: restore.bitExact ? 'yes' : 'no',
    comparisons: [], target: 'yes', status: restore.bitExact ? 'PASS' : 'FAIL',
  });
}
