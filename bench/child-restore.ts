/**
 * @module A child process that restores a snapshot from a cold page cache and reports: the time
 * to load one tensor lazily (fresh repository handle, cold cache, best of `reps`), the time of a
 * whole restore into preallocated, already-touched buffers (fresh handle, cold cache), whether
 * every tensor came back bit-exact (SHA-256 against the source), and the process's peak RSS.
 * Usage: child-restore.ts <repo> <ref> <set (cache path)> <hashes.json> <lazy tensor> <reps>.
 * Prints one JSON line.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Repository } from '../src/index.ts';
import { dropPageCache } from './cold-cache.ts';
import { readTensorSetIndex } from './tensor-set.ts';

const [repoPath, ref, setPath, hashesPath, lazyName, repsArg] = process.argv.slice(2);
if (!repoPath || !ref || !setPath || !hashesPath || !lazyName) throw new Error('usage: child-restore.ts <repo> <ref> <set> <hashes.json> <lazy tensor> <reps>');
const reps = Number(repsArg ?? 3);

const index = await readTensorSetIndex(setPath);
const expected = JSON.parse(await readFile(hashesPath, 'utf8')) as Record<string, string>;
const buffer = new Uint8Array(index.size);
buffer.fill(1); // touched before timing: a training loop restores into memory it already owns
const view = (name: string): Uint8Array => {
  const s = index.slots.find((x) => x.name === name)!;
  return buffer.subarray(s.offset, s.offset + s.byteLength);
};

const lazySeconds: number[] = [];
let method = '';
for (let i = 0; i < reps; i++) {
  method = dropPageCache([repoPath]);
  const t0 = performance.now();
  const repo = await Repository.open(repoPath);
  const snap = await repo.snapshot(ref);
  await snap.tensor(lazyName, { into: view(lazyName) });
  lazySeconds.push((performance.now() - t0) / 1000);
  await repo.close();
}

dropPageCache([repoPath]);
const t0 = performance.now();
const repo = await Repository.open(repoPath);
const snap = await repo.snapshot(ref);
for (const s of index.slots) await snap.tensor(s.name, { into: buffer.subarray(s.offset, s.offset + s.byteLength) });
const fullSeconds = (performance.now() - t0) / 1000;
await repo.close();

const mismatched = index.slots.filter((s) => createHash('sha256').update(buffer.subarray(s.offset, s.offset + s.byteLength)).digest('hex') !== expected[s.name]).map((s) => s.name);
process.stdout.write(`${JSON.stringify({
  lazySeconds,
  fullSeconds,
  rawBytes: index.rawBytes,
  bitExact: mismatched.length === 0,
  mismatched: mismatched.slice(0, 5),
  coldCache: method,
  maxRssKiB: process.resourceUsage().maxRSS,
})}\n`);
