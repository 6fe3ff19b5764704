/**
 * @module A child process that saves one cached tensor set into a fresh repository `reps` times
 * (the directory is emptied between saves, untimed; the last repository is kept for the restore)
 * and reports the time and CPU time (user + system, every thread) of each `repo.save` alone and the process's peak RSS (VmHWM; see
 * peak-rss.ts) — its own, not the benchmark driver's. Repeating inside one process measures what a
 * training job that checkpoints again and again sees, as the torch baseline does.
 * Usage: child-save.ts <repo> <set (cache path, no extension)> <run> <step> <reps>. Prints one JSON line.
 */
import { rm } from 'node:fs/promises';
import { Repository } from './engram-lib.ts';
import { peakRssKiB } from './peak-rss.ts';
import { readTensorSet, saveTensors } from './tensor-set.ts';
import { syncDisks } from './warm-memory.ts';

const [repoPath, setPath, run, step, repsArg] = process.argv.slice(2);
if (!repoPath || !setPath || !run || step === undefined) throw new Error('usage: child-save.ts <repo> <set> <run> <step> <reps>');
const reps = Number(repsArg ?? 1);

const set = await readTensorSet(setPath);
const rssBeforeKiB = Math.round(process.memoryUsage().rss / 1024);
const seconds: number[] = [];
const cpuPerSave: number[] = [];
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let snapshot = '';
for (let r = 0; r < reps; r++) {
  await rm(repoPath, { recursive: true, force: true });
  const repo = await Repository.init(repoPath);
  syncDisks();
  const c0 = cpuNow();
  const t0 = performance.now();
  const snap = await repo.save({ run, step: Number(step), tensors: saveTensors(set) });
  seconds.push((performance.now() - t0) / 1000);
  cpuPerSave.push(cpuNow() - c0);
  snapshot = snap.id;
  await repo.close();
}
const peak = peakRssKiB();
process.stdout.write(`${JSON.stringify({
  seconds,
  cpuPerSave,
  rawBytes: set.rawBytes,
  snapshot,
  rssBeforeKiB,
  maxRssKiB: peak.kib,
  rssSource: peak.source,
  getrusageMaxRssKiB: process.resourceUsage().maxRSS,
  cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
})}\n`);
