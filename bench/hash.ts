/**
 * @module `npm run bench:hash`: content-hash throughput — SHA-256 through node:crypto (what every
 * chunk key is today) against BLAKE3, native (@napi-rs/blake-hash) and WebAssembly (hash-wasm),
 * on 4 MiB pieces (the chunk size) and 64 KiB pieces (bundles, CDC pieces), on one thread and on
 * one worker thread per core hashing at once (aggregate throughput).
 *
 *   npm run bench:hash                              7 rounds, 256 MiB per candidate per round
 *   npm run bench:hash -- --rounds 3 --mib 64       quicker
 *   npm run bench:hash -- --modules /tmp/blk/node_modules --write-doc
 *                                                   also rewrites the "Content hash (bench:hash)"
 *                                                   section of docs/BENCHMARKS.md
 *
 * The BLAKE3 packages are not dependencies of engram: each is loaded from the project's own
 * resolution, else from `--modules DIR` (or ENGRAM_BENCH_HASH_MODULES), and a candidate whose
 * package is absent is printed as absent. The candidates are interleaved within each round (the
 * order rotating) and every figure is the median over the rounds; the ratio is the median of the
 * per-round ratios against SHA-256 measured in the same round, which is the figure to compare on
 * this shared machine. Hashing speed does not depend on the bytes, so the input is random.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { othersShare, readCpu, waitForQuietCpu } from './machine-load.ts';
import { writeDocSection } from './s3-doc-section.ts';

type HashFn = (bytes: Uint8Array) => string;
interface Candidate { readonly name: string; readonly hash: HashFn }
interface Job { readonly candidate: string; readonly piece: number; readonly bytes: number }
interface Timing { readonly ms: number; readonly cpuMs: number; readonly digest: string }

const POOL_BYTES = 64 << 20; // more than the last-level cache, as chunks arriving from disk are

/** Loads `name` from the project's resolution, else from `dir`; undefined when neither has it. */
function loadPackage(name: string, dir: string | undefined): unknown {
  for (const base of [join(process.cwd(), 'package.json'), dir ? join(dir, '..', 'package.json') : undefined]) {
    if (!base) continue;
    try {
      return createRequire(base)(name);
    } catch {
      // absent here: try the next place
    }
  }
  return undefined;
}

/** Every candidate this process can run, and the names of those whose package is absent. */
async function loadCandidates(dir: string | undefined): Promise<{ candidates: Candidate[]; absent: string[] }> {
  const candidates: Candidate[] = [{ name: 'sha256 (node:crypto)', hash: (b) => createHash('sha256').update(b).digest('hex') }];
  const absent: string[] = [];
  const native = loadPackage('@napi-rs/blake-hash', dir) as { blake3?: (b: Uint8Array) => Buffer } | undefined;
  if (native?.blake3) {
    const f = native.blake3;
    candidates.push({ name: 'blake3 native (@napi-rs/blake-hash)', hash: (b) => f(b).toString('hex') });
  } else absent.push('blake3 native (@napi-rs/blake-hash)');
  const wasm = loadPackage('hash-wasm', dir) as { createBLAKE3?: () => Promise<{ init(): { update(b: Uint8Array): { digest(f: 'hex'): string } } }> } | undefined;
  if (wasm?.createBLAKE3) {
    const h = await wasm.createBLAKE3(); // one instance reused, as a hot path would
    candidates.push({ name: 'blake3 wasm (hash-wasm)', hash: (b) => h.init().update(b).digest('hex') });
  } else absent.push('blake3 wasm (hash-wasm)');
  return { candidates, absent };
}

/** Hashes `bytes` worth of `piece`-sized slices of `pool`, one digest per slice. */
function run(c: Candidate, pool: Uint8Array, piece: number, bytes: number): Timing {
  const n = Math.max(1, Math.round(bytes / piece));
  const slots = Math.floor(pool.length / piece);
  let digest = '';
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const off = (i % slots) * piece;
    digest = c.hash(pool.subarray(off, off + piece));
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, digest };
}

function randomPool(): Uint8Array {
  const pool = new Uint8Array(POOL_BYTES);
  for (let o = 0; o < pool.length; o += 65536) randomFillSync(pool, o, Math.min(65536, pool.length - o));
  return pool;
}

async function workerMain(): Promise<void> {
  const { candidates } = await loadCandidates(workerData.dir as string | undefined);
  const pool = randomPool();
  parentPort!.on('message', (job: Job) => {
    const c = candidates.find((x) => x.name === job.candidate)!;
    parentPort!.postMessage(run(c, pool, job.piece, job.bytes));
  });
  parentPort!.postMessage('ready');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const rounds = Number(arg('--rounds') ?? 7);
  const bytes = Number(arg('--mib') ?? 256) * 2 ** 20;
  const dir = arg('--modules') ?? process.env.ENGRAM_BENCH_HASH_MODULES;
  const threads = Math.min(2, availableParallelism()) === 2 ? [1, availableParallelism()] : [1];
  const pieces = [4 << 20, 64 << 10];
  const { candidates, absent } = await loadCandidates(dir);
  const quiet = await waitForQuietCpu(0.15, 30);
  const load0 = loadavg();
  const cpu0 = readCpu();
  const own0 = process.cpuUsage();
  console.log(`node ${process.version}, ${availableParallelism()} CPUs, ${rounds} rounds, ${bytes / 2 ** 20} MiB per candidate per round and thread`);
  for (const a of absent) console.log(`ABSENT: ${a} — not installed (npm install it in some directory and pass --modules DIR/node_modules)`);

  const pool = randomPool();
  // The same 4 MiB must give the same BLAKE3 digest from both implementations.
  const blake = candidates.filter((c) => c.name.startsWith('blake3'));
  if (blake.length === 2) {
    const a = blake[0]!.hash(pool.subarray(0, 4 << 20)), b = blake[1]!.hash(pool.subarray(0, 4 << 20));
    console.log(`BLAKE3 native and wasm digests of the same 4 MiB ${a === b ? 'agree' : `DIFFER (${a} / ${b})`}`);
  }

  const workers = await Promise.all(Array.from({ length: Math.max(...threads) }, () => new Promise<Worker>((resolve, reject) => {
    // A worker does not inherit the TypeScript loader registered at run time: register tsx first.
    const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
    const w = new Worker(boot, { eval: true, workerData: { dir } });
    w.once('message', () => resolve(w));
    w.once('error', reject);
  })));
  const onWorker = (w: Worker, job: Job): Promise<Timing> => new Promise((resolve) => { w.once('message', resolve); w.postMessage(job); });

  // key: piece/threads/candidate -> per-round MB/s and CPU/wall
  const mbs = new Map<string, number[]>();
  const cpuShare = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, v: number): void => { m.set(k, [...(m.get(k) ?? []), v]); };
  for (const c of candidates) run(c, pool, 4 << 20, 32 << 20); // warm-up: code, page faults
  for (let r = 0; r < rounds; r++) {
    for (const piece of pieces) {
      for (const t of threads) {
        const order = candidates.map((_, i) => candidates[(i + r) % candidates.length]!);
        for (const c of order) {
          const key = `${piece}/${t}/${c.name}`;
          if (t === 1) {
            const x = run(c, pool, piece, bytes);
            push(mbs, key, bytes / 1e6 / (x.ms / 1000));
            push(cpuShare, key, x.cpuMs / x.ms);
          } else {
            const t0 = performance.now();
            await Promise.all(workers.slice(0, t).map((w) => onWorker(w, { candidate: c.name, piece, bytes })));
            push(mbs, key, (t * bytes) / 1e6 / ((performance.now() - t0) / 1000));
          }
        }
      }
    }
    process.stderr.write(`round ${r + 1}/${rounds} done\n`);
  }
  await Promise.all(workers.map((w) => w.terminate()));
  const load1 = loadavg();
  const own = process.cpuUsage(own0); // the worker threads' time included: they are this process
  const others = othersShare(cpu0, readCpu(), (own.user + own.system) / 1e6);

  const table = ['| piece | threads | candidate | MB/s (median) | × SHA-256 (median of per-round ratios) | CPU/wall (1 thread) |', '|---|---|---|---|---|---|'];
  for (const piece of pieces) {
    for (const t of threads) {
      const base = mbs.get(`${piece}/${t}/${candidates[0]!.name}`)!;
      for (const c of candidates) {
        const key = `${piece}/${t}/${c.name}`;
        const v = mbs.get(key)!;
        const ratio = median(v.map((x, i) => x / base[i]!));
        const share = cpuShare.get(key);
        const size = piece >= 1 << 20 ? `${piece >> 20} MiB` : `${piece >> 10} KiB`;
        table.push(`| ${size} | ${t}${t > 1 ? ' (aggregate)' : ''} | ${c.name} | ${median(v).toFixed(0)} | ${ratio.toFixed(2)}× | ${share ? median(share).toFixed(2) : '—'} |`);
      }
    }
  }
  for (const a of absent) table.push(`| — | — | ${a} | absent (not installed) | — | — |`);
  const fmt = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  const pct = (x: number | undefined): string => (x === undefined ? '?' : `${(100 * x).toFixed(0)} %`);
  const busy = (others ?? 0) > 0.25;
  const loadLine = `load average before ${fmt(load0)}, after ${fmt(load1)} (${availableParallelism()} CPUs); CPUs busy before the rounds ${pct(quiet.busy)} (waited ${quiet.waited.toFixed(0)} s for a quiet machine); other processes used ${pct(others)} of the CPUs during the rounds`;
  const busyNote = 'The machine was busy: the two-thread rows cannot show scaling, only the ratio between candidates; compare the ratios, not the aggregate against one thread.';
  console.log(`\n${table.join('\n')}\n\n${loadLine}${busy ? `\n${busyNote}` : ''}`);

  if (process.argv.includes('--write-doc')) {
    const body = `\`npm run bench:hash\` (bench/hash.ts) hashes random bytes in pieces of the chunk size (4 MiB) and of
bundles and CDC pieces (64 KiB), one digest (hex) per piece as engram keys chunks: SHA-256 through
node:crypto (\`createHash\` per piece; OpenSSL uses SHA-NI on this CPU) against BLAKE3 native
(@napi-rs/blake-hash, a prebuilt N-API binary) and BLAKE3 in WebAssembly (hash-wasm). Neither BLAKE3
package is a dependency of engram: \`--modules DIR/node_modules\` names where they are installed, and an
absent one is listed as absent. ${rounds} rounds of ${bytes / 2 ** 20} MiB per candidate and thread, the candidates interleaved
(the order rotating), medians; "2 threads" is one worker thread per core hashing at once, the bytes of
both over the wall time of the slower. The ratio is the median of the per-round ratios against SHA-256 of
the same round. The decision it informs is in docs/ARCHITECTURE.md ("Content hash").

| | |
|---|---|
| date | ${new Date().toISOString().slice(0, 10)} |
| node | ${process.version} |
| machine load | ${loadLine} |

${table.join('\n')}
${busy ? `\n${busyNote}\n` : ''}`;
    await writeDocSection(join(process.cwd(), 'docs', 'BENCHMARKS.md'), 'Content hash (bench:hash)', body);
    console.log('bench:hash: wrote the "Content hash (bench:hash)" section of docs/BENCHMARKS.md');
  }
}

if (isMainThread) await main();
else await workerMain();
