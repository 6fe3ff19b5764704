/**
 * @module `npm run bench:s3`: save and restore throughput on S3 (a real Ceph RGW) by 1, 2 and 4
 * concurrent rank processes, each against the server's raw PUT and GET throughput measured in the
 * same run, with plain @aws-sdk/client-s3 requests of engram's chunk size (4 MiB) at engram's
 * parallelism from the same number of processes.
 *
 *   npm run bench:s3                     256 MiB of W1, medians of 5; rewrites the "S3 (Ceph RGW on
 *                                        loopback)" section of docs/BENCHMARKS.md
 *   npm run bench:s3 -- --quick          64 MiB, one repetition, the page untouched
 *   npm run bench:s3 -- --mib 512 --reps 5 --no-doc
 *
 * The server is the one AWS_ENDPOINT_URL (with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) names,
 * else a Ceph RGW of the benchmark's own (scripts/rgw-start.sh), stopped at exit. Everything the
 * benchmark writes goes under one fresh prefix of the bucket (ENGRAM_BENCH_S3_BUCKET, default
 * engram-bench) and is deleted as soon as it has been measured.
 */
import { createHash } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitDim0 } from '../src/distributed/index.ts';
import { Repository } from '../src/repo/index.ts';
import { openS3Store, type OpenS3Options, type S3Store } from '../src/s3.ts';
import { othersShare, readCpu, waitForQuietCpu, type CpuReading } from './machine-load.ts';
import { describeMachine } from './machine.ts';
import { WorkerPool, type PoolResult } from './s3-pool.ts';
import { s3Server, type S3Server } from './s3-server.ts';
import { writeDocSection } from './s3-doc-section.ts';
import { S3_SECTION, detailTable, docBody, mainTable, storedRatio, type Measured, type RankCountResult, type S3Run } from './s3-report.ts';
import type { Task } from './s3-task.ts';
import { slotBytes, type TensorSet } from './tensor-set.ts';
import { loadW1 } from './workloads/w1.ts';

const MiB = 1024 * 1024;
/** engram's default chunk size: the raw baseline's object size. */
const OBJECT_SIZE = 4 * MiB;
/** PUTs in flight per process: the pool of writeRankChunks' ChunkWriter (src/distributed/). */
const PUT_CONCURRENCY = 8;
/** GETs in flight per process: restoreSharded reads 4 tensors at once, each 4 chunks at once. */
const GET_CONCURRENCY = 16;
const RANK_COUNTS = [1, 2, 4] as const;
/** The restore source is saved by 3 ranks, so that every restore (1, 2, 4 ranks) reshards it. */
const SOURCE_RANKS = 3;

// ---- arguments
const args = process.argv.slice(2);
let quick = false;
let writeDoc = true;
let mib = 256;
let reps = 5;
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--quick') {
    quick = true;
    mib = 64;
    reps = 1;
    writeDoc = false;
  } else if (a === '--no-doc') writeDoc = false;
  else if (a === '--mib' || a === '--reps') {
    const n = Number(args[++i]);
    if (!Number.isSafeInteger(n) || n < 1) usage(`${a} needs a positive integer`);
    if (a === '--mib') mib = n;
    else reps = n;
  } else usage(`unknown argument ${a}`);
}
function usage(why: string): never {
  process.stderr.write(`bench:s3: ${why}\nusage: npm run bench:s3 -- [--quick] [--mib N] [--reps N] [--no-doc]\n`);
  process.exit(2);
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function measure(pool: WorkerPool, server: S3Server, task: Task): Promise<Measured> {
  let load1 = 0;
  let s0: number | undefined;
  let c0: CpuReading | undefined;
  const r: PoolResult = await pool.measure(task, () => {
    load1 = loadavg()[0]!;
    s0 = server.cpuSeconds();
    c0 = readCpu();
  });
  const c1 = readCpu();
  const s1 = server.cpuSeconds();
  const sum = (f: (x: PoolResult['perRank'][number]) => number): number => r.perRank.reduce((a, x) => a + f(x), 0);
  const serverCpuSeconds = s0 !== undefined && s1 !== undefined ? s1 - s0 : undefined;
  return {
    serverCpuSeconds,
    others: serverCpuSeconds === undefined ? undefined : othersShare(c0, c1, sum((x) => x.cpuSeconds) + serverCpuSeconds),
    seconds: r.seconds,
    rate: r.bytes / r.seconds,
    bytes: r.bytes,
    cpuSeconds: sum((x) => x.cpuSeconds),
    busy: c0 && c1 && c1.total > c0.total ? (c1.busy - c0.busy) / (c1.total - c0.total) : undefined,
    load1,
    puts: sum((x) => x.puts),
    putBytes: sum((x) => x.putBytes),
    gets: sum((x) => x.gets),
    getBytes: sum((x) => x.getBytes),
    maxInFlight: Math.max(...r.perRank.map((x) => x.maxInFlight)),
    storedBytes: sum((x) => x.storedBytes ?? 0),
    snapshot: r.perRank[0]?.snapshot,
    boxes: r.perRank.map((x) => x.boxes),
    commitTail: r.perRank.length > 1 ? (r.perRank[0]!.t1 - Math.max(...r.perRank.slice(1).map((x) => x.t1))) / 1000 : 0,
  };
}

/** Deletes every object under `prefix` of the bucket (the store is rooted at the bucket). */
async function deletePrefix(admin: S3Store, prefix: string): Promise<number> {
  const keys: string[] = [];
  for await (const o of admin.list(`${prefix}/`)) keys.push(o.key);
  await Promise.all(keys.map((k) => admin.delete(k)));
  return keys.length;
}

/** SHA-256 of every tensor's dimension-0 box for `rank` of `world`: what a restore must give. */
function expectedBoxes(set: TensorSet, rank: number, world: number): Map<string, { offsets: number[]; shape: number[]; sha256: string }> {
  const out = new Map<string, { offsets: number[]; shape: number[]; sha256: string }>();
  for (const slot of set.slots) {
    const box = splitDim0(slot.shape, rank, world);
    const rowBytes = slot.byteLength / slot.shape[0]!;
    const bytes = slotBytes(set, slot).subarray(box.offsets[0]! * rowBytes, (box.offsets[0]! + box.shape[0]!) * rowBytes);
    out.set(slot.name, { offsets: [...box.offsets], shape: [...box.shape], sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return out;
}

/** Throws unless every rank got exactly its box of every tensor, bit for bit. */
function checkRestore(m: Measured, set: TensorSet, world: number): void {
  for (let rank = 0; rank < world; rank++) {
    const got = m.boxes[rank];
    if (!got) throw new Error(`restore by ${world}: rank ${rank} reported nothing`);
    for (const [name, want] of expectedBoxes(set, rank, world)) {
      const g = got[name];
      if (!g || g.sha256 !== want.sha256 || g.offsets.join() !== want.offsets.join() || g.shape.join() !== want.shape.join()) {
        throw new Error(`restore by ${world}: rank ${rank} got the wrong bytes of ${name}`);
      }
    }
  }
}

const mbs = (bytesPerSecond: number): string => `${Math.round(bytesPerSecond / 1e6)} MB/s`;
const ratio = (r: number): string => `${r.toFixed(2)}x`;
const pct = (x: number | undefined): string => (x === undefined ? '?' : `${Math.round(x * 100)}%`);

// ---- the run
const started = performance.now();
const bytes = mib * MiB;
const root = `bench-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').toLowerCase()}-${process.pid}`;
let server: S3Server | undefined;
let admin: S3Store | undefined;
const results = new Map<number, RankCountResult>();
let source: Measured | undefined;
const loadStart = loadavg()[0]!;
try {
  server = await s3Server(log);
  const s3Options: OpenS3Options = { endpoint: server.endpoint, region: server.region, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } };
  const open = (prefix: string): Promise<S3Store> => openS3Store(`s3://${server!.bucket}/${prefix}`, s3Options);
  admin = await openS3Store(`s3://${server.bucket}`, s3Options);
  await admin.ensureBucket();
  const t0 = performance.now();
  const set = await loadW1(bytes);
  log(`workload: W1 at ${mib} MiB (${set.slots.length} float32 tensors, ${set.rawBytes} bytes), ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; objects under s3://${server.bucket}/${root}/`);

  const initRepo = async (prefix: string): Promise<string> => {
    const store = await open(prefix);
    await (await Repository.init(store.location, { store })).close();
    return store.location;
  };

  // The snapshot every restore reads: saved once, by a rank count none of the restores uses.
  const sourceUrl = await initRepo(`${root}/source`);
  {
    const pool = await WorkerPool.start(SOURCE_RANKS, bytes, server.env);
    try {
      source = await measure(pool, server, { kind: 'save', url: sourceUrl, run: 'source', step: 1 });
    } finally {
      await pool.close();
    }
    if (!source.snapshot) throw new Error('the source save committed no snapshot');
    log(`source snapshot ${source.snapshot}: saved by ${SOURCE_RANKS} ranks at ${mbs(source.rate)}, ${(source.storedBytes / source.bytes).toFixed(3)} of raw stored`);
  }

  for (const n of RANK_COUNTS) {
    const quiet = await waitForQuietCpu(0.15, 30);
    const entry = { rawPut: [] as Measured[], rawGet: [] as Measured[], save: [] as Measured[], restore: [] as Measured[], busyBefore: quiet.busy };
    results.set(n, entry);
    log(`${n} rank process${n > 1 ? 'es' : ''}: CPUs ${pct(quiet.busy)} busy with other work before starting, load average ${loadavg()[0]!.toFixed(2)}`);
    const pool = await WorkerPool.start(n, bytes, server.env);
    try {
      // One untimed round of all four first: a rank's first save starts its codec worker threads
      // (under tsx, compiling engram in each), which a training job pays once, not per checkpoint;
      // with 2 reps that start-up was half of every median. Both sides get the same warm-up.
      {
        const raw = { bucket: server.bucket, prefix: `${root}/warm-${n}`, objectSize: OBJECT_SIZE };
        await measure(pool, server, { kind: 'rawPut', ...raw, concurrency: PUT_CONCURRENCY });
        await measure(pool, server, { kind: 'rawGet', ...raw, concurrency: GET_CONCURRENCY });
        await deletePrefix(admin, raw.prefix);
        const warmUrl = await initRepo(`${root}/warm-save-${n}`);
        await measure(pool, server, { kind: 'save', url: warmUrl, run: 'bench', step: 1 });
        await deletePrefix(admin, `${root}/warm-save-${n}`);
        await measure(pool, server, { kind: 'restore', url: sourceUrl, ref: source.snapshot! });
        log('  warm-up round done (untimed)');
      }
      for (let rep = 0; rep < reps; rep++) {
        // Baseline and engram alternate, so a change in the machine's load hits both.
        const raw = { bucket: server.bucket, prefix: `${root}/raw-${n}-${rep}`, objectSize: OBJECT_SIZE };
        const put = await measure(pool, server, { kind: 'rawPut', ...raw, concurrency: PUT_CONCURRENCY });
        const get = await measure(pool, server, { kind: 'rawGet', ...raw, concurrency: GET_CONCURRENCY });
        await deletePrefix(admin, raw.prefix);
        const saveUrl = await initRepo(`${root}/save-${n}-${rep}`);
        const save = await measure(pool, server, { kind: 'save', url: saveUrl, run: 'bench', step: 1 });
        if (!save.snapshot) throw new Error(`save by ${n}: rank 0 committed no snapshot`);
        await deletePrefix(admin, `${root}/save-${n}-${rep}`);
        const restore = await measure(pool, server, { kind: 'restore', url: sourceUrl, ref: source.snapshot! });
        checkRestore(restore, set, n);
        entry.rawPut.push(put);
        entry.rawGet.push(get);
        entry.save.push(save);
        entry.restore.push(restore);
        log(`  rep ${rep + 1}/${reps}: raw PUT ${mbs(put.rate)}, save ${mbs(save.rate)} (${ratio(save.rate / put.rate)}); raw GET ${mbs(get.rate)}, restore ${mbs(restore.rate)} (${ratio(restore.rate / get.rate)}), bit-exact`);
      }
    } finally {
      await pool.close();
    }
  }
} finally {
  if (admin && server) {
    await deletePrefix(admin, root).catch((e: unknown) => log(`could not delete s3://${server!.bucket}/${root}/: ${String(e)}`));
    await admin.close();
  }
  await server?.stop();
}

// ---- report
const run: S3Run = {
  date: new Date().toISOString().slice(0, 10),
  seconds: (performance.now() - started) / 1000,
  machine: describeMachine(tmpdir()),
  server: server?.description ?? '?',
  mib, reps, loadStart, objectSize: OBJECT_SIZE, putConcurrency: PUT_CONCURRENCY, getConcurrency: GET_CONCURRENCY,
  sourceRanks: SOURCE_RANKS, source, results,
};
process.stdout.write(`\nengram bench:s3 — ${run.date} — ${run.machine.cores} cores ${run.machine.cpu}, Node ${run.machine.node}${quick ? ' — QUICK' : ''}\n`);
process.stdout.write(`server: ${run.server}; W1 ${mib} MiB float32, ${reps === 1 ? 'one repetition' : `medians of ${reps}`}; load average ${loadStart.toFixed(2)} at start\n\n`);
process.stdout.write(`${mainTable(run)}\n\n${detailTable(run)}\n\n`);
process.stdout.write(`stored/raw ${storedRatio(run).toFixed(3)}; restore source saved by ${SOURCE_RANKS} ranks at ${source ? mbs(source.rate) : '?'}; every restore bit-exact; ${Math.round(run.seconds)} s\n`);
if (writeDoc) {
  const doc = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'BENCHMARKS.md');
  await writeDocSection(doc, S3_SECTION, docBody(run));
  log(`wrote the "${S3_SECTION}" section of ${doc}`);
}
