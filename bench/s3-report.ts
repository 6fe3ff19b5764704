/**
 * @module The S3 benchmark's report: the figures of every rank count as Markdown tables (printed,
 * and quoted in docs/BENCHMARKS.md) and the page section around them, whose explanation of what
 * limits the figures is written from the figures themselves.
 */
import { median } from './engram-measure.ts';
import type { Machine } from './machine.ts';
import type { RestoredBox } from './s3-task.ts';

const MiB = 1024 * 1024;

/** The heading of the section of docs/BENCHMARKS.md that `npm run bench:s3` owns. */
export const S3_SECTION = 'S3 (Ceph RGW on loopback)';

/** One measurement of all ranks together, with what the machine did meanwhile. */
export interface Measured {
  readonly seconds: number;
  /** Raw tensor (or object) bytes per second, all ranks together. */
  readonly rate: number;
  readonly bytes: number;
  /** CPU seconds the worker processes used (not the server's). */
  readonly cpuSeconds: number;
  /** Share of both CPUs busy during the measurement (everything: ranks, server, other work). */
  readonly busy: number | undefined;
  /** CPU seconds the server's daemons used meanwhile (only for a server the benchmark started). */
  readonly serverCpuSeconds: number | undefined;
  /** Share of the CPUs that neither the workers nor the server used: other work on the machine. */
  readonly others: number | undefined;
  readonly load1: number;
  readonly puts: number;
  readonly putBytes: number;
  readonly gets: number;
  readonly getBytes: number;
  /** The most requests one rank had in flight. */
  readonly maxInFlight: number;
  readonly storedBytes: number;
  readonly snapshot: string | undefined;
  readonly boxes: readonly (Readonly<Record<string, RestoredBox>> | undefined)[];
  /** Seconds from the last other rank's end to rank 0's: for a save, the commit's own latency. */
  readonly commitTail: number;
}

/** Every repetition of the four measurements for one rank count. */
export interface RankCountResult {
  readonly rawPut: Measured[];
  readonly rawGet: Measured[];
  readonly save: Measured[];
  readonly restore: Measured[];
  /** Share of the CPUs busy with other work just before this rank count started. */
  readonly busyBefore: number | undefined;
}

/** What the report needs to know about the run. */
export interface S3Run {
  readonly date: string;
  readonly seconds: number;
  readonly machine: Machine;
  readonly server: string;
  readonly mib: number;
  readonly reps: number;
  readonly loadStart: number;
  readonly objectSize: number;
  readonly putConcurrency: number;
  readonly getConcurrency: number;
  readonly sourceRanks: number;
  readonly source: Measured | undefined;
  readonly results: ReadonlyMap<number, RankCountResult>;
}

const mbs = (bytesPerSecond: number): string => `${Math.round(bytesPerSecond / 1e6)} MB/s`;
const ratio = (r: number): string => `${r.toFixed(2)}x`;
const pct = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '?' : `${Math.round(x * 100)}%`);
const range = (xs: readonly number[], f: (x: number) => string): string => (Math.min(...xs) === Math.max(...xs) ? f(xs[0]!) : `${f(Math.min(...xs))}–${f(Math.max(...xs))}`);
const med = (xs: readonly Measured[], f: (m: Measured) => number): number => median(xs.map(f));
const gib = (m: Measured): number => m.bytes / 1024 ** 3;
/** Median CPU seconds per GiB moved; NaN when unknown. */
const perGiB = (xs: readonly Measured[], f: (m: Measured) => number | undefined): number => med(xs, (m) => (f(m) ?? NaN) / gib(m));
const one = (x: number): string => (Number.isNaN(x) ? '?' : x.toFixed(1));
const meanObject = (count: number, total: number): string => (count ? `${(total / count / MiB).toFixed(2)} MiB` : '—');

/** The medians of one rank count. */
function medians(r: RankCountResult): { put: number; get: number; save: number; restore: number } {
  return { put: med(r.rawPut, (m) => m.rate), get: med(r.rawGet, (m) => m.rate), save: med(r.save, (m) => m.rate), restore: med(r.restore, (m) => m.rate) };
}

/** The headline table: throughput and ratio to the raw baseline per rank count. */
export function mainTable(run: S3Run): string {
  return [
    '| ranks | raw PUT | engram save | save / raw PUT | raw GET | engram restore (resharded) | restore / raw GET |',
    '|---|---|---|---|---|---|---|',
    ...[...run.results].map(([n, r]) => {
      const m = medians(r);
      return `| ${n} | ${mbs(m.put)} | ${mbs(m.save)} | **${ratio(m.save / m.put)}** | ${mbs(m.get)} | ${mbs(m.restore)} | **${ratio(m.restore / m.get)}** |`;
    }),
  ].join('\n');
}

/** Requests, object sizes, parallelism, commit latency, CPU and machine load per rank count. */
export function detailTable(run: S3Run): string {
  const four = (r: RankCountResult, f: (xs: readonly Measured[]) => string): string => [r.rawPut, r.save, r.rawGet, r.restore].map(f).join(' / ');
  return [
    `| ranks | save: objects written, mean size, most PUTs in flight per rank (raw: ${run.putConcurrency}) | restore: chunk GETs, mean size, most GETs in flight per rank (raw: ${run.getConcurrency}) | save: rank 0's commit after the last rank's part | CPU s per GiB, client processes — raw PUT / save / raw GET / restore | CPU s per GiB, server daemons (same order) | CPUs used by other work during (same order) | load avg (1 min) before each | spread of the ${run.reps} (same order) |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...[...run.results].map(([n, r]) => {
      const s = r.save[0]!;
      const g = r.restore[0]!;
      const all = [...r.rawPut, ...r.save, ...r.rawGet, ...r.restore];
      return `| ${n} | ${s.puts}, ${meanObject(s.puts, s.putBytes)}, ${Math.max(...r.save.map((m) => m.maxInFlight))} | ${g.gets}, ${meanObject(g.gets, g.getBytes)}, ${Math.max(...r.restore.map((m) => m.maxInFlight))} | ${n === 1 ? '—' : `${Math.round(med(r.save, (m) => m.commitTail * 1000))} ms`} | ${four(r, (xs) => one(perGiB(xs, (m) => m.cpuSeconds)))} | ${four(r, (xs) => one(perGiB(xs, (m) => m.serverCpuSeconds)))} | ${four(r, (xs) => pct(med(xs, (m) => m.others ?? NaN)))} | ${range(all.map((m) => m.load1), (x) => x.toFixed(2))} | ${four(r, (xs) => range(xs.map((m) => m.rate), (x) => String(Math.round(x / 1e6))))} MB/s |`;
    }),
  ].join('\n');
}

/** Stored bytes over raw bytes of the saves (median). */
export function storedRatio(run: S3Run): number {
  const xs = [...run.results.values()].flatMap((r) => r.save.map((m) => m.storedBytes / m.bytes));
  return xs.length ? median(xs) : NaN;
}

/**
 * What each contender could reach if CPU were all that limited it: the machine's cores over the
 * CPU-seconds per GiB that the clients and the server spent on it (median of the repetitions).
 */
function ceiling(cores: number, xs: readonly Measured[]): number {
  const perGib = perGiB(xs, (m) => (m.serverCpuSeconds === undefined ? undefined : m.cpuSeconds + m.serverCpuSeconds));
  return (cores / perGib) * 1024 ** 3;
}

/** Per rank count: the CPU ceilings and their ratios beside the measured ratios. */
function ceilingTable(run: S3Run): string {
  const c = run.machine.cores;
  const rows = [...run.results].map(([n, r]) => {
    const m = medians(r);
    const [put, save, get, restore] = [r.rawPut, r.save, r.rawGet, r.restore].map((xs) => ceiling(c, xs)) as [number, number, number, number];
    const f = (x: number): string => (Number.isFinite(x) ? mbs(x) : '?');
    const q = (a: number, b: number): string => (Number.isFinite(a / b) ? ratio(a / b) : '?');
    const used = [r.rawPut, r.save, r.rawGet, r.restore].map((xs) => one(med(xs, (x) => (x.serverCpuSeconds === undefined ? NaN : (x.cpuSeconds + x.serverCpuSeconds) / x.seconds)))).join(' / ');
    return `  | ${n} | ${f(put)} / ${f(save)} / ${f(get)} / ${f(restore)} | ${q(save, put)} / ${q(restore, get)} | ${ratio(m.save / m.put)} / ${ratio(m.restore / m.get)} | ${used} |`;
  });
  return [
    `  | ranks | CPU ceiling: raw PUT / save / raw GET / restore | ceiling ratio: save / restore | measured ratio: save / restore | cores the clients and server kept busy (of ${c}), same order as the ceilings |`,
    '  |---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** Whether the ceilings' ratios explain the measured ratios (each within 25 %). */
function ceilingVerdict(run: S3Run): string {
  const pairs = [...run.results.values()].flatMap((r) => {
    const m = medians(r);
    const c = run.machine.cores;
    return [[ceiling(c, r.save) / ceiling(c, r.rawPut), m.save / m.put], [ceiling(c, r.restore) / ceiling(c, r.rawGet), m.restore / m.get]] as const;
  });
  if (pairs.some(([a]) => !Number.isFinite(a))) return 'the server CPU is unknown for this server, so no ceiling can be computed';
  const close = pairs.filter(([a, b]) => Math.abs(a / b - 1) <= 0.25).length;
  return close === pairs.length
    ? 'the ratio of those ceilings is within 25 % of the ratio measured in every case, so CPU explains the gap to the baseline and the figures are CPU-bound, not network-bound'
    : `the ratio of those ceilings is within 25 % of the ratio measured in ${close} of ${pairs.length} cases; where it is not, see the last column: the cores a contender did not keep busy went to other work, either because it was waiting (request round trips within a rank's pipeline, the commit's polling) or because other work crowded it out — one run on a shared machine cannot tell those apart`;
}

/** The "What limits them" bullets, with this run's numbers. */
function limits(run: S3Run): string {
  const counts = [...run.results.keys()];
  const first = run.results.get(counts[0]!);
  const last = run.results.get(counts[counts.length - 1]!);
  if (!first || !last) return '';
  const cpu = (f: (r: RankCountResult) => Measured[], g: (m: Measured) => number | undefined): string => range(counts.map((n) => perGiB(f(run.results.get(n)!), g)), one);
  const client = (f: (r: RankCountResult) => Measured[]): string => cpu(f, (m) => m.cpuSeconds);
  const server = (f: (r: RankCountResult) => Measured[]): string => cpu(f, (m) => m.serverCpuSeconds);
  const tails = counts.filter((n) => n > 1).map((n) => `${Math.round(med(run.results.get(n)!.save, (m) => m.commitTail * 1000))} ms with ${n} ranks`);
  const reads = (r: RankCountResult): number => r.restore[0]!.gets;
  const others = range([...run.results.values()].flatMap((r) => [...r.rawPut, ...r.save, ...r.rawGet, ...r.restore]).map((m) => m.others ?? NaN).filter((x) => !Number.isNaN(x)), (x) => pct(x));
  return `- **CPU, on two shared cores.** Ranks, gateway (radosgw and a memstore OSD that keeps objects in
  RAM) and baseline clients all run on the same 2 cores${others === '?' ? '' : `, and other work took ${others} of the CPUs during the measurements`}.
  Per GiB of tensors, engram's rank processes used ${client((r) => r.save)} CPU-seconds to save (the raw PUT clients:
  ${client((r) => r.rawPut)}) and ${client((r) => r.restore)} to restore (raw GET: ${client((r) => r.rawGet)}): SHA-256 and zstd with byte grouping of
  every chunk on save, zstd and a second SHA-256 on restore. The gateway used ${server((r) => r.rawPut)} CPU-seconds per GiB
  for the raw PUTs and ${server((r) => r.save)} for engram's (fewer bytes, more requests). Dividing the ${run.machine.cores} cores by the CPU-seconds per GiB (clients plus
  server) gives the ceiling each contender could reach with nothing else running; ${ceilingVerdict(run)}:

${ceilingTable(run)}

  On separate machines each rank's CPU would add up instead of competing.
- **More processes add requests, not cores.** From ${counts[0]} to ${counts[counts.length - 1]} ranks the raw PUT went from ${mbs(medians(first).put)} to
  ${mbs(medians(last).put)}, engram's save from ${mbs(medians(first).save)} to ${mbs(medians(last).save)} and its restore from ${mbs(medians(first).restore)} to ${mbs(medians(last).restore)}: more rank
  processes bring more requests in flight and more codec threads, but the same 2 cores. On a cluster,
  where each rank brings its own cores, the per-rank CPU cost above is what would scale.
- **Smaller objects with more ranks.** The baseline always moves ${run.objectSize / MiB} MiB objects. A rank's chunks are at most
  ${run.objectSize / MiB} MiB raw and smaller once compressed, and a shard smaller than a chunk (a 4 MiB matrix split ${counts[counts.length - 1]} ways) is one
  smaller object: the save wrote objects of ${meanObject(first.save[0]!.puts, first.save[0]!.putBytes)} on average with ${counts[0]} rank and ${meanObject(last.save[0]!.puts, last.save[0]!.putBytes)} with ${counts[counts.length - 1]}.
- **Resharding reads straddling chunks twice.** A restore by ${counts[0]} rank made ${reads(first)} chunk GETs, by ${counts[counts.length - 1]} ranks ${reads(last)}
  (${(reads(last) / reads(first)).toFixed(2)}x): a chunk that holds rows of two target boxes — a large tensor's chunk at a box
  boundary, or a bundle of small shards — is fetched, decompressed and re-hashed by both ranks, because
  chunks are stored compressed and verified whole. Within one rank, reads of the same bundle that run
  at once may fetch it twice as well (ChunkReader caches decoded chunks but does not share a fetch in
  flight), which is why the count of a 1-rank restore of the same layout varies a little between runs.
- **The commit's polling.** Rank 0 polls \`staging/\` with a backoff from 20 ms to 1 s (collect-parts.ts), so a
  sharded save ends some time after the last rank's part lands: ${tails.join(', ')} (median).
- **Loopback only.** No network latency or bandwidth limit is in these figures; against a remote S3 the
  request parallelism matters more and the CPU cost less.`;
}

/** The body of the "S3 (Ceph RGW on loopback)" section of docs/BENCHMARKS.md. */
export function docBody(run: S3Run): string {
  const m = run.machine;
  const stored = storedRatio(run);
  const src = run.source;
  return `Measured by \`npm run bench:s3\` (bench/s3.ts) on ${run.date}, ${Math.round(run.seconds)} s, against ${run.server},
on this machine (${m.cores} cores ${m.cpu}, Node ${m.node}); server, ranks and baseline clients share
the same two cores. **The machine was shared with other agents' work during this run: load average
${run.loadStart.toFixed(2)} (1 min) at the start; the load average before each measurement and the share of
the CPUs that other work took during it are in the second table (the load average counts the
benchmark's own processes too; that share does not).** Each figure is the median of ${run.reps};
engram and the baseline alternate within each repetition, so a change in load hits both; one untimed round of all four comes first in each set of rank processes (a rank's first save starts its codec worker threads, once per job).

${mainTable(run)}

Ratios are against the raw PUT / GET throughput of the same number of processes in the same run.
Throughput is raw tensor bytes (${run.mib} MiB of W1 float32 weights, the transformer-shaped workload of the
main benchmark) over the wall time from the first rank's start to the last rank's end. engram stored
${stored.toFixed(3)} of raw (zstd, byte-grouped), so it sent fewer bytes than the baseline. Every restore was
checked bit-exact (SHA-256 of every rank's box of every tensor). The restore source was saved by
${run.sourceRanks} ranks${src ? ` at ${mbs(src.rate)}` : ''}.

${detailTable(run)}

### Reproduce

\`\`\`sh
npm run bench:s3                 # starts its own Ceph RGW (scripts/rgw-start.sh; installs Debian's ceph packages when missing) unless AWS_ENDPOINT_URL is set; rewrites this section (~3 min here)
source /tmp/engram-rgw/s3.env && npm run bench:s3   # against a running server (any S3: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
npm run bench:s3 -- --quick      # 64 MiB, one repetition, this page untouched;  --mib N --reps N --no-doc
\`\`\`

Server CPU is measured only on a server the benchmark started (it reads the daemons' pid files);
for a server from the environment those columns show \`?\`.

### How it is measured

- **Raw PUT / GET**: n processes with plain @aws-sdk/client-s3 — the client set up as engram's S3Store
  sets up its own: path-style, keep-alive, no checksum trailers — PUT, then GET, the same ${run.mib} MiB cut
  into ${run.objectSize / MiB} MiB objects, process k taking objects i ≡ k (mod n), ${run.putConcurrency} PUTs / ${run.getConcurrency} GETs in flight per
  process: engram's own bounds (the chunk pool of writeRankChunks; restoreSharded's 4 tensors × 4 chunks).
- **engram save**: n rank processes each call \`saveSharded\` with their dimension-0 rows of every tensor
  (an FSDP-like layout) into a fresh \`s3://\` repository; rank 0 commits once every part is staged. Timed
  from the first rank's start to rank 0's commit, so it includes the commit protocol (parts in
  \`staging/\`, polling, the manifest).
- **engram restore**: n rank processes each call \`restoreSharded\` (dimension-0 boxes) on one snapshot saved
  by ${run.sourceRanks} ranks, so every restore reshards: 1 rank merges the writers' shards, 2 and 4 ranks cut them at rows
  that are not chunk boundaries. Every chunk read is re-hashed.
- Workers load the workload, open the repository and resolve the snapshot before the clock starts.
  Objects are deleted after each measurement, so every save starts from an empty repository (no
  deduplication against an earlier repetition).

### What limits them

${limits(run)}`;
}
