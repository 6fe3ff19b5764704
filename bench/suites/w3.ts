/**
 * @module benchW3: ten checkpoints of a model trained with Adam, 50 steps apart, each saved with
 * the previous one as parent — in float32, in bfloat16, and in float32 with Adam's two moments.
 * Stored bytes over raw bytes for the sequence and per checkpoint, against plain zstd; and the
 * restore time of the last snapshot (the deepest delta chain) against the first (a keyframe).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Repository } from '../engram-lib.ts';
import { zstdBaseline } from '../baselines/zstd.ts';
import type { BenchContext } from '../bench-context.ts';
import { deepestChain, isBitExact, median, restoreMeasured, saveMeasured, storedBytes } from '../engram-measure.ts';
import { bytes, frac, ms, statusOf } from '../report.ts';
import { scratchBuffer } from '../scratch-buffer.ts';
import { slotBytes, type TensorSet } from '../tensor-set.ts';
import { loadW3, paramsOnly, W3_CHECKPOINTS, W3_EVERY } from '../workloads/w3.ts';
import { toBf16Set } from '../workloads/w2.ts';

interface Variant {
  readonly label: string;
  readonly sets: readonly TensorSet[];
  readonly target?: number;
}

const RESTORE_REPS = 5;

/** CPU seconds (user + system of the process, its codec workers included) of one warm restore of `ref` into `into`. */
async function restoreCpu(path: string, ref: string, set: TensorSet, into: Uint8Array): Promise<number> {
  const slots = new Map(set.slots.map((s) => [s.name, s]));
  const c0 = process.cpuUsage();
  const repo = await Repository.open(path);
  const snap = await repo.snapshot(ref);
  await snap.tensors({ into: (name) => slotBytes({ ...set, data: into }, slots.get(name)!) });
  const c = process.cpuUsage(c0);
  await repo.close();
  return (c.user + c.system) / 1e6;
}

/** Runs W3 and records its figures. */
export async function benchW3(ctx: BenchContext): Promise<void> {
  const t0 = performance.now();
  const seq = await loadW3(ctx.log);
  const params = seq.map((c) => paramsOnly(c.state));
  ctx.log(`W3: ${seq.length} checkpoints of ${bytes(params[0]!.rawBytes)} (float32 parameters), ${W3_EVERY} Adam steps apart (ready in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const variants: Variant[] = [
    { label: 'fp32', sets: params, target: 0.77 },
    { label: 'bf16', sets: params.map(toBf16Set), target: 0.55 },
    { label: 'fp32 + Adam m,v', sets: seq.map((c) => c.state) },
  ];
  for (const v of variants) {
    const repoPath = join(ctx.tmp, `w3-${v.label.replace(/[^a-z0-9]+/gi, '-')}`);
    const repo = await Repository.init(repoPath);
    const ids: string[] = [];
    const perCkpt: number[] = [];
    let raw = 0;
    let zstdBytes = 0;
    let exact = true;
    for (let i = 0; i < v.sets.length; i++) {
      const set = v.sets[i]!;
      const m = await saveMeasured(repo, set, `w3-${v.label.replace(/[^a-z0-9]+/gi, '')}`, seq[i]!.step, ids.at(-1) ?? null);
      ids.push(m.id);
      perCkpt.push(m.added / set.rawBytes);
      raw += set.rawBytes;
      zstdBytes += (await zstdBaseline(set)).compressedBytes;
    }
    const total = (await storedBytes(repo)) / raw;
    const zr = zstdBytes / raw;
    for (let i = 0; i < v.sets.length; i++) exact &&= await isBitExact(repo, ids[i]!, v.sets[i]!, scratchBuffer(v.sets[i]!.data.byteLength));
    const depths: number[] = [];
    for (const id of ids) depths.push(deepestChain((await repo.snapshot(id)).manifest));
    await repo.close();
    // The snapshot with the deepest chain (the latest of equals); a keyframe comes once a delta
    // stops paying (config delta.keyframe), so this is not always the last one.
    const deepest = depths.lastIndexOf(Math.max(...depths));
    ctx.log(`  ${v.label}: sequence ${frac(total)} of raw; by checkpoint ${perCkpt.map(frac).join(' ')}`);
    ctx.add({
      workload: 'W3', name: `W3 ${v.label} sequence (stored/raw)`, value: total, unit: 'of raw', text: `${frac(total)} of raw`,
      comparisons: [{ label: 'zstd -3', baseline: `${frac(zr)} of raw`, ratio: total / zr }],
      target: v.target !== undefined ? `<=${v.target}` : undefined,
      status: v.target !== undefined ? statusOf([{ value: total, op: '<=', bound: v.target }]) : 'INFO',
      note: v.target === undefined ? `${W3_CHECKPOINTS} × ${bytes(v.sets[0]!.rawBytes)}, no target` : undefined,
    });
    ctx.add({
      workload: 'W3', name: `W3 ${v.label} by checkpoint`, value: perCkpt.at(-1)!, unit: 'of raw',
      text: `${frac(Math.min(...perCkpt))}–${frac(Math.max(...perCkpt))}`, comparisons: [], status: 'INFO',
      note: `steps ${seq[0]!.step}..${seq.at(-1)!.step}: ${perCkpt.map(frac).join(' ')}; delta chain depths ${depths.join(' ')}`,
    });

    if (v.label === 'fp32') {
      // The deepest chain against the first snapshot (a keyframe), each cold, alternating.
      const first: number[] = [];
      const last: number[] = [];
      const buf = scratchBuffer(v.sets[0]!.data.byteLength);
      for (let r = 0; r < RESTORE_REPS; r++) {
        const a = await restoreMeasured(repoPath, ids[0]!, v.sets[0]!, buf);
        const b = await restoreMeasured(repoPath, ids[deepest]!, v.sets[deepest]!, buf);
        ctx.coldMethods.add(a.coldCache);
        first.push(a.seconds);
        last.push(b.seconds);
        exact &&= a.bitExact && b.bitExact;
      }
      // CPU time (user + system of the process, codec workers included) of the same two restores,
      // warm, alternating: on a shared two-core machine the wall-clock ratio also measures the other
      // jobs, and a restore's CPU time says what it costs whatever the load.
      const cpuFirst: number[] = [];
      const cpuLast: number[] = [];
      for (let r = 0; r < RESTORE_REPS; r++) {
        cpuFirst.push(await restoreCpu(repoPath, ids[0]!, v.sets[0]!, buf));
        cpuLast.push(await restoreCpu(repoPath, ids[deepest]!, v.sets[deepest]!, buf));
      }
      const ratio = median(last) / median(first);
      ctx.add({
        workload: 'W3', name: 'W3 restore, deepest delta chain', value: median(last), unit: 's', text: ms(median(last)),
        comparisons: [{ label: 'keyframe snapshot of the same size', baseline: ms(median(first)), ratio }],
        target: '<=1.5x', status: statusOf([{ value: ratio, op: '<=', bound: 1.5 }]),
        note: `cold, median of ${RESTORE_REPS}; checkpoint ${deepest + 1} (step ${seq[deepest]!.step}, chain depth ${depths[deepest]}) vs checkpoint 1 (depth ${depths[0]})`,
      });
      ctx.add({
        workload: 'W3', name: 'W3 restore CPU, deepest delta chain', value: median(cpuLast), unit: 's', text: ms(median(cpuLast)),
        comparisons: [{ label: 'keyframe snapshot of the same size', baseline: ms(median(cpuFirst)), ratio: median(cpuLast) / median(cpuFirst) }],
        status: 'INFO', note: `CPU time (user + system, workers included), warm, median of ${RESTORE_REPS}`,
      });
    }
    ctx.add({
      workload: 'W3', name: `W3 ${v.label} bit-exact`, value: exact ? 1 : 0, unit: '', text: exact ? 'yes' : 'no',
      comparisons: [], target: 'yes', status: exact ? 'PASS' : 'FAIL',
    });
    await rm(repoPath, { recursive: true, force: true });
  }
}
