/**
 * @module `npm run bench`: runs the workloads W1–W4 and CLI (W1 through the `engram` command) and prints every figure with its ratio against
 * baselines measured in the same run, and its target (PASS/FAIL, never the exit status).
 *
 *   npm run bench                      all workloads; rewrites docs/BENCHMARKS.md
 *   npm run bench -- W1 W3             some workloads
 *   npm run bench -- --quick           W1/W2 at 128 MiB instead of 1 GiB (for iterating)
 *   npm run -s bench -- --json         all results as JSON on stdout (-s: without npm's banner)
 *   npm run bench -- --write-doc       rewrite docs/BENCHMARKS.md even after a partial run
 *   npm run bench -- W1 --profile      children run under --cpu-prof (bench/.cache/profiles/)
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TORCH_ABSENT, torchVersion } from './baselines/torch.ts';
import type { BenchContext } from './bench-context.ts';
import { CACHE_DIR } from './cached-tensor-set.ts';
import { describeMachine } from './machine.ts';
import { waitForQuietCpu } from './machine-load.ts';
import { summarizeProfiles } from './profile-summary.ts';
import { warmGuestMemory } from './warm-memory.ts';
import { formatFigure, formatTable, type Figure } from './report.ts';
import { benchW1 } from './suites/w1.ts';
import { benchW2 } from './suites/w2.ts';
import { benchW3 } from './suites/w3.ts';
import { benchW4 } from './suites/w4.ts';
import { benchCli } from './suites/cli.ts';
import { writeBenchmarksDoc } from './write-doc.ts';

const SUITES: Record<string, (ctx: BenchContext) => Promise<void>> = { W1: benchW1, W2: benchW2, W3: benchW3, W4: benchW4, CLI: benchCli };
const MiB = 1024 * 1024;

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
for (const f of flags) {
  if (!['--quick', '--json', '--write-doc', '--profile'].includes(f)) {
    process.stderr.write(`bench: unknown option ${f} (know --quick --json --write-doc --profile)\n`);
    process.exit(2);
  }
}
const picked = args.filter((a) => !a.startsWith('--')).map((a) => a.toUpperCase());
for (const w of picked) {
  if (!SUITES[w]) {
    process.stderr.write(`bench: unknown workload ${w} (know ${Object.keys(SUITES).join(' ')})\n`);
    process.exit(2);
  }
}
const workloads = picked.length > 0 ? Object.keys(SUITES).filter((w) => picked.includes(w)) : Object.keys(SUITES);
const quick = flags.has('--quick');
const json = flags.has('--json');

if (flags.has('--profile')) {
  await rm(join(CACHE_DIR, 'profiles'), { recursive: true, force: true });
  await mkdir(join(CACHE_DIR, 'profiles'), { recursive: true });
}
const tmp = await mkdtemp(join(tmpdir(), 'engram-bench-'));
const figures: Figure[] = [];
const busyBefore: Record<string, string> = {};
const torch = torchVersion();
const started = performance.now();
const ctx: BenchContext = {
  quick,
  w1Bytes: (quick ? 128 : 1024) * MiB,
  tmp,
  torch,
  cpuProfDir: flags.has('--profile') ? join(CACHE_DIR, 'profiles') : undefined,
  log: (line) => void process.stderr.write(`${line}\n`),
  add: (f) => {
    figures.push(f);
    if (!json) process.stderr.write(`  → ${formatFigure(f)}\n`);
  },
  coldMethods: new Set(),
};

ctx.log(`engram bench: ${workloads.join(' ')}${quick ? ' (quick)' : ''}; temp ${tmp}; cache ${CACHE_DIR}`);
ctx.log(torch ? `torch baseline: torch ${torch} via /usr/bin/python3` : TORCH_ABSENT);
const warmGiB = workloads.some((w) => w === 'W1' || w === 'W2' || w === 'CLI') ? (quick ? 2 : 8) : 1;
ctx.log(`warming ${warmGiB} GiB of guest memory (first touch is slow here; see bench/warm-memory.ts): ${warmGuestMemory(warmGiB).toFixed(1)} s`);
try {
  for (const w of workloads) {
    const quiet = await waitForQuietCpu();
    const busy = quiet.busy === undefined ? 'unknown' : `${Math.round(quiet.busy * 100)}%`;
    busyBefore[w] = busy;
    ctx.log(`${w}: CPUs ${busy} busy with other work before starting${quiet.waited > 1.5 ? ` (waited ${Math.round(quiet.waited)} s for them to quieten)` : ''}`);
    const t0 = performance.now();
    await SUITES[w]!(ctx);
    ctx.log(`${w} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}

const seconds = (performance.now() - started) / 1000;
const machine = describeMachine(tmpdir());
const coldMethods = [...ctx.coldMethods];
const record = { date: new Date().toISOString().slice(0, 10), machine, torch, coldMethods, quick, workloads, busyBefore, seconds, figures };
if (json) {
  process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
} else {
  process.stdout.write(`\nengram bench — ${record.date} — ${machine.cores} cores ${machine.cpu}, ${machine.ramGiB} GiB, Node ${machine.node}${quick ? ' — QUICK' : ''}\n`);
  process.stdout.write(`${torch ? `torch baseline: torch ${torch}` : TORCH_ABSENT}; cold cache: ${coldMethods.join(', ') || '—'}; CPUs busy with other work before each workload: ${Object.entries(busyBefore).map(([w, b]) => `${w} ${b}`).join(', ')}\n\n`);
  process.stdout.write(`${formatTable(figures)}\n\n`);
  const fails = figures.filter((f) => f.status === 'FAIL');
  process.stdout.write(`${figures.filter((f) => f.status === 'PASS').length} PASS, ${fails.length} FAIL, ${figures.filter((f) => f.status === 'INFO').length} info; ${Math.round(seconds)} s\n`);
}
if (ctx.cpuProfDir) {
  process.stderr.write(`\nprofiles (${ctx.cpuProfDir}), self time per function:\n${summarizeProfiles(ctx.cpuProfDir)}\n`);
}
if (flags.has('--write-doc') || (!quick && workloads.length === Object.keys(SUITES).length)) {
  const doc = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'BENCHMARKS.md');
  await writeBenchmarksDoc(doc, record);
  ctx.log(`wrote ${doc}`);
}
