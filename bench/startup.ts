/**
 * @module `npm run bench:startup`: how long the `engram` command takes to start and answer, against
 * the start-up of node itself (`node -e 0`) measured in the same run, round by round.
 *
 *   npm run bench:startup                  15 rounds; prints the figures
 *   npm run bench:startup -- --rounds 30   more rounds
 *   npm run bench:startup -- --write-doc   also rewrites the "Start-up" section of docs/BENCHMARKS.md
 *
 * Each round runs every command once as a new process, in an order that rotates from round to round
 * (so a slow spell of this shared machine hits every arm alike), timing spawn to exit; each figure is
 * the median over the rounds. Commands: `engram --version` (when the CLI has it), `engram --help`,
 * `engram log` on a small repository (3 snapshots of one small file), and, for the record, `--help`
 * run from the TypeScript sources through tsx, which is how the bin started before dist/ (issue 11).
 * Targets (issue 11): `--version` ≤ 150 ms, `log` ≤ 300 ms; `--help` is reported for information (it loads every command for its synopsis). Exit status 0 whatever the verdict.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildJs } from '../scripts/build.ts';
import { waitForQuietCpu } from './machine-load.ts';
import { formatTable, markdownTable, ms, statusOf, times, type Figure } from './report.ts';
import { writeDocSection } from './s3-doc-section.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'engram.cjs');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'numpy', 'f32_C.npy');

const args = process.argv.slice(2);
let rounds = 15;
let writeDoc = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--rounds') rounds = Number(args[++i]);
  else if (args[i] === '--write-doc') writeDoc = true;
  else {
    process.stderr.write(`bench:startup: unknown option ${args[i]} (know --rounds N, --write-doc)\n`);
    process.exit(2);
  }
}
if (!Number.isSafeInteger(rounds) || rounds < 1) {
  process.stderr.write('bench:startup: --rounds needs a positive integer\n');
  process.exit(2);
}

/** Runs `argv` with node to completion; returns its wall time in seconds, or throws when it fails. */
function timed(argv: readonly string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: 'utf8' });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`node ${argv.join(' ')}: exit ${r.status}: ${r.stderr.slice(0, 400)}`);
  return s;
}

/** CPU seconds (user + system) of this process's waited-for children so far; undefined off Linux. */
function childCpu(): number | undefined {
  try {
    // Fields after the command name (which may hold spaces): cutime and cstime are the 14th and 15th.
    const f = readFileSync('/proc/self/stat', 'utf8').split(')').pop()!.trim().split(/\s+/);
    return (Number(f[13]) + Number(f[14])) / 100; // clock ticks: getconf CLK_TCK is 100 on Linux
  } catch {
    return undefined;
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const built = buildJs();
const log = (line: string): void => void process.stderr.write(`${line}\n`);
log(`bench:startup: dist/ ${built.emitted === 0 ? 'current' : `rebuilt (${built.emitted} files)`}; ${rounds} rounds`);

const tmp = await mkdtemp(join(tmpdir(), 'engram-bench-startup-'));
try {
  const repo = join(tmp, 'repo');
  timed([BIN, 'init', '--repo', repo]);
  for (let step = 1; step <= 3; step++) timed([BIN, 'save', FIXTURE, '--repo', repo, '--run', 'r', '--step', String(step)]);
  const hasVersion = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' }).status === 0;

  const arms: Record<string, readonly string[]> = {
    'node -e 0': ['-e', '0'],
    ...(hasVersion ? { 'engram --version': [BIN, '--version'] } : {}),
    'engram --help': [BIN, '--help'],
    'engram log (3 snapshots)': [BIN, 'log', '--repo', repo],
    'engram --help from src/ via tsx': ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), '--help'],
  };
  const names = Object.keys(arms);
  const samples = new Map<string, number[]>(names.map((n) => [n, []]));
  const cpu = new Map<string, number>(names.map((n) => [n, 0]));
  // Warm the page cache once (the first run after a build reads every file from disk).
  for (const n of names) timed(arms[n]!);
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  const overloaded = loadavg()[0]! > availableParallelism();
  const quiet = await waitForQuietCpu(0.15, 60);
  log(`load average ${load}; CPUs ${quiet.busy === undefined ? '?' : `${Math.round(quiet.busy * 100)} %`} busy before the rounds (waited ${quiet.waited.toFixed(0)} s)`);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(r + k) % names.length]!;
      const c0 = childCpu();
      samples.get(n)!.push(timed(arms[n]!));
      const c1 = childCpu();
      if (c0 !== undefined && c1 !== undefined) cpu.set(n, cpu.get(n)! + c1 - c0);
    }
  }

  const node = median(samples.get('node -e 0')!);
  const targets: Record<string, number> = { 'engram --version': 0.15, 'engram log (3 snapshots)': 0.3 };
  const figures: Figure[] = names.map((n) => {
    const v = median(samples.get(n)!);
    const bound = targets[n];
    const comparisons = n === 'node -e 0' ? [] : [{ label: 'node -e 0', baseline: ms(node), ratio: v / node, ratioText: `${times(v / node)} (+${ms(v - node)})` }];
    return {
      workload: 'startup', name: n, value: v, unit: 's', text: ms(v), comparisons,
      ...(bound !== undefined ? { target: `<= ${ms(bound)}` } : {}),
      status: statusOf(bound !== undefined ? [{ value: v, op: '<=', bound }] : []),
      // CPU time moves less with the machine's load than wall time does (10 ms ticks, averaged).
      note: `median of ${rounds}; CPU ${ms(cpu.get(n)! / rounds)} on average`,
    };
  });
  process.stdout.write(`${formatTable(figures)}\n`);

  if (writeDoc) {
    const body = `\`npm run bench:startup\` (bench/startup.ts) runs each command as a new process, ${rounds} rounds, the order rotating
from round to round, and reports the median time from spawn to exit against \`node -e 0\` timed in the
same rounds; the CPU time (user + system, averaged over the rounds) moves less with the machine's load.
\`engram log\` reads a repository of 3 snapshots of one small file. The last line is the
same \`--help\` run from the TypeScript sources through tsx, as the bin ran before it ran dist/.

| | |
|---|---|
| date | ${new Date().toISOString().slice(0, 10)} |
| load average before the rounds | ${load} (CPUs ${quiet.busy === undefined ? '?' : `${Math.round(quiet.busy * 100)} %`} busy; this machine is shared, and every figure here moves with its load) |

${markdownTable(figures)}
${hasVersion ? '' : '\n`engram --version` was not in this build of the CLI when this ran.\n'}${overloaded ? `
This run cannot judge the targets: the load average (${load}) was above the number of CPUs
(${availableParallelism()}), and node itself took ${ms(node)} to start and exit. The ratios against
\`node -e 0\` are the figures to compare; the targets need a run on a quiet machine.
` : ''}
What a command loads is what it costs: \`bin/engram.cjs\` (CommonJS, which node starts ~10 ms sooner than an ES module) answers a plain \`--version\` itself and otherwise imports \`dist/cli/main.js\`, which imports each
command's module only when that command runs; \`log\` loads the repository layer (about 55 modules) but
not the format readers, zstd, the AWS SDK or TF.js. test/cli/startup.test.ts checks what is loaded
(module counts, not milliseconds); this page holds the times.`;
    await writeDocSection(join(ROOT, 'docs', 'BENCHMARKS.md'), 'Start-up (bench:startup)', body);
    log('bench:startup: wrote the "Start-up (bench:startup)" section of docs/BENCHMARKS.md');
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
