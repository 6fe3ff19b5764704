/**
 * @module Profile summaries: where the time went in the V8 .cpuprofile files that
 * `npm run bench -- W1 --profile` has the save and restore children write (one file per thread:
 * the main thread, the codec workers, module-loader threads). Self time per function, heaviest
 * first: the main thread on its own, the busy worker threads merged; threads that were almost
 * wholly idle (loader hooks) are left out.
 * Usage: node --import tsx bench/profile-summary.ts <dir with .cpuprofile files>...
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self milliseconds per function of one profile, and the total sampled. */
export function selfTimes(path: string): { totalMs: number; self: Map<string, number> } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const f = byId.get(p.samples[i]!)!.callFrame;
    const where = f.url ? ` ${f.url.replace(/^.*\/(src|bench|node_modules)\//, '$1/').replace(/^node:internal\//, 'node:')}` : '';
    const key = `${f.functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  return { totalMs: total, self };
}

function rows(totalMs: number, self: Map<string, number>, top: number): string[] {
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, ms]) => `    ${((ms / totalMs) * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(6)} ms  ${name}`);
}

/** A summary of one directory of per-thread profiles (file names end in .<pid>.<thread>.<seq>.cpuprofile). */
export function summarizeProfileDir(dir: string, top = 12): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const out = [`${basename(dir)}:`];
  const workers = new Map<string, number>();
  let workersTotal = 0;
  let workerThreads = 0;
  for (const f of files) {
    const thread = /\.(\d+)\.\d+\.cpuprofile$/.exec(f)?.[1] ?? '?';
    const { totalMs, self } = selfTimes(join(dir, f));
    const idle = (self.get('(idle)') ?? 0) / totalMs;
    if (thread === '0') {
      out.push(`  main thread, ${(totalMs / 1000).toFixed(2)} s sampled:`, ...rows(totalMs, self, top));
    } else if (idle < 0.9) {
      workerThreads++;
      workersTotal += totalMs;
      for (const [k, v] of self) workers.set(k, (workers.get(k) ?? 0) + v);
    }
  }
  if (workerThreads > 0) out.push(`  ${workerThreads} busy worker threads merged, ${(workersTotal / 1000).toFixed(2)} s sampled:`, ...rows(workersTotal, workers, top));
  return out.join('\n');
}

/** Summaries of every profile directory under `root` (or of `root` itself). */
export function summarizeProfiles(root: string, top = 12): string {
  const entries = readdirSync(root, { withFileTypes: true });
  const dirs = entries.filter((e) => e.isDirectory()).map((e) => join(root, e.name)).sort();
  return (dirs.length > 0 ? dirs : [root]).map((d) => summarizeProfileDir(d, top)).join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const dir of process.argv.slice(2)) process.stdout.write(`${summarizeProfiles(dir)}\n`);
}
