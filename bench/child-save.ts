/**
 * @module A child process that saves one cached tensor set into a repository and reports the time
 * of `repo.save` alone and the process's peak RSS — so that the peak belongs to this save and not
 * to the benchmark driver. Usage: child-save.ts <repo> <set (cache path, no extension)> <run> <step>.
 * Prints one JSON line.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Repository } from '../src/index.ts';
import { readTensorSet, saveTensors } from './tensor-set.ts';

const [repoPath, setPath, run, step] = process.argv.slice(2);
if (!repoPath || !setPath || !run || step === undefined) throw new Error('usage: child-save.ts <repo> <set> <run> <step>');

const set = await readTensorSet(setPath);
const rssBeforeKiB = Math.round(process.memoryUsage().rss / 1024);
const repo = existsSync(join(repoPath, 'config.json')) ? await Repository.open(repoPath) : await Repository.init(repoPath);
const t0 = performance.now();
const snap = await repo.save({ run, step: Number(step), tensors: saveTensors(set) });
const seconds = (performance.now() - t0) / 1000;
await repo.close();
process.stdout.write(`${JSON.stringify({
  seconds,
  rawBytes: set.rawBytes,
  snapshot: snap.id,
  rssBeforeKiB,
  maxRssKiB: process.resourceUsage().maxRSS,
})}\n`);
