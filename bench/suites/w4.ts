/**
 * @module benchW4: fine-tuning with 90 % of the parameters frozen. W3's last checkpoint is saved
 * first (the base); each fine-tuning checkpoint is then saved with the previous one as parent, and
 * its new stored bytes are compared with its raw bytes and with plain zstd of the checkpoint.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Repository } from '../engram-lib.ts';
import { zstdBaseline } from '../baselines/zstd.ts';
import type { BenchContext } from '../bench-context.ts';
import { isBitExact, saveMeasured } from '../engram-measure.ts';
import { bytes, frac, statusOf } from '../report.ts';
import { scratchBuffer } from '../scratch-buffer.ts';
import { loadW3, paramsOnly } from '../workloads/w3.ts';
import { loadW4, w4Trainable } from '../workloads/w4.ts';

/** Runs W4 and records its figures. */
export async function benchW4(ctx: BenchContext): Promise<void> {
  const t0 = performance.now();
  const w3 = await loadW3(ctx.log);
  const baseCkpt = w3.at(-1)!;
  const base = paramsOnly(baseCkpt.state);
  const ft = await loadW4(base, ctx.log);
  const trainable = w4Trainable(base.slots.map((s) => s.name));
  const trainableBytes = base.slots.filter((s) => trainable.has(s.name)).reduce((n, s) => n + s.byteLength, 0);
  ctx.log(`W4: ${ft.length} fine-tuning checkpoints of ${bytes(base.rawBytes)}, ${(100 * trainableBytes / base.rawBytes).toFixed(2)}% of the bytes trainable (ready in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  const repoPath = join(ctx.tmp, 'w4-repo');
  const repo = await Repository.init(repoPath);
  const baseSave = await saveMeasured(repo, base, 'w3', baseCkpt.step, null);
  let prev = baseSave.id;
  let exact = true;
  for (let i = 0; i < ft.length; i++) {
    const set = ft[i]!.state;
    const m = await saveMeasured(repo, set, 'w4-finetune', baseCkpt.step + ft[i]!.step, prev);
    prev = m.id;
    exact &&= await isBitExact(repo, m.id, set, scratchBuffer(set.data.byteLength));
    const ratio = m.added / set.rawBytes;
    const z = await zstdBaseline(set);
    ctx.add({
      workload: 'W4', name: `W4 fine-tune checkpoint ${i + 1} (new stored/raw)`, value: ratio, unit: 'of raw', text: `${frac(ratio)} of raw`,
      comparisons: [{ label: 'zstd -3 of the checkpoint', baseline: `${frac(z.ratio)} of raw`, ratio: ratio / z.ratio }],
      target: '<=0.12', status: statusOf([{ value: ratio, op: '<=', bound: 0.12 }]),
      note: i === 0 ? `${(100 * trainableBytes / base.rawBytes).toFixed(2)}% of bytes trainable; base stored at ${frac(baseSave.added / base.rawBytes)} of raw` : undefined,
    });
  }
  exact &&= await isBitExact(repo, baseSave.id, base, scratchBuffer(base.data.byteLength));
  await repo.close();
  await rm(repoPath, { recursive: true, force: true });
  ctx.add({ workload: 'W4', name: 'W4 bit-exact', value: exact ? 1 : 0, unit: '', text: exact ? 'yes' : 'no', comparisons: [], target: 'yes', status: exact ? 'PASS' : 'FAIL' });
}
