/**
 * @module A child process that restores a snapshot from a cold page cache and reports: the time
 * (and CPU time, user + system, every thread) of each of `reps` whole restores (`snapshot.tensors` into preallocated, already-touched buffers,
 * through a fresh repository handle, cache dropped before each), the time of each of `reps` lazy
 * loads of one tensor (fresh handle, cold cache), whether every tensor came back bit-exact
 * (SHA-256 against the source), and the process's peak RSS (VmHWM; see peak-rss.ts).
 * Usage: child-restore.ts <repo> <ref> <set (cache path)> <hashes.json> <lazy tensor> <reps>.
 * Prints one JSON line.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Repository } from './engram-lib.ts';
import { dropPageCache } from './cold-cache.ts';
import { peakRssKiB } from './peak-rss.ts';
import { readTensorSetIndex } from './tensor-set.ts';

const [repoPath, ref, setPath, hashesPath, lazyName, repsArg] = process.argv.slice(2);
if (!repoPath || !ref || !setPath || !hashesPath || !lazyName) throw new Error('usage: child-restore.ts <repo> <ref> <set> <hashes.json> <lazy tensor> <reps>');
const reps = Number(repsArg ?? 1);

const index = await readTensorSetIndex(setPath);
const expected = JSON.parse(await readFile(hashesPath, 'utf8')) as Record<string, string>;
const buffer = new Uint8Array(index.size);
const slots = new Map(index.slots.map((s) => [s.name, s]));
const view = (name: string): Uint8Array => {
  const s = slots.get(name)!;
  return buffer.subarray(s.offset, s.offset + s.byteLength);
};
const mismatched = new Set<string>();

const fullSeconds: number[] = [];
const cpuPerRestore: number[] = [];
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let method = '';
for (let r = 0; r < reps; r++) {
  buffer.fill(1); // touched before timing: a training loop restores into memory it already owns
  method = dropPageCache([repoPath]);
  const c0 = cpuNow();
  const t0 = performance.now();
  const repo = await Repository.open(repoPath);
  const snap = await repo.snapshot(ref);
  await snap.tensors({ into: (name) => view(name) });
  fullSeconds.push((performance.now() - t0) / 1000);
  cpuPerRestore.push(cpuNow() - c0);
  await repo.close();
  for (const s of index.slots) {
    if (createHash('sha256').update(view(s.name)).digest('hex') !== expected[s.name]) mismatched.add(s.name);
  }
}

const lazySeconds: number[] = [];
for (let r = 0; r < reps; r++) {
  dropPageCache([repoPath]);
  const t0 = performance.now();
  const repo = await Repository.open(repoPath);
  const snap = await repo.snapshot(ref);
  await snap.tensor(lazyName, { into: view(lazyName) });
  lazySeconds.push((performance.now() - t0) / 1000);
  await repo.close();
}

const peak = peakRssKiB();
process.stdout.write(`${JSON.stringify({
  lazySeconds,
  fullSeconds,
  cpuPerRestore,
  rawBytes: index.rawBytes,
  bitExact: mismatched.size === 0,
  mismatched: [...mismatched].slice(0, 5),
  coldCache: method,
  maxRssKiB: peak.kib,
  rssSource: peak.source,
  getrusageMaxRssKiB: process.resourceUsage().maxRSS,
  cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
})}\n`);
