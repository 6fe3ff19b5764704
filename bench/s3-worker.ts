/**
 * @module One process of the S3 benchmark — a rank, or a plain-SDK client for the baseline:
 *   node --import tsx bench/s3-worker.ts <workload-bytes> <rank> <world-size>
 * It loads the W1 workload (from bench/.cache/, which the driver filled), says so, and then obeys
 * the driver's commands on stdin (bench/s3-task.ts), one JSON line each, answering on stdout.
 * Endpoint and keys come from the usual AWS variables.
 */
import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { createInterface } from 'node:readline';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { restoreSharded, saveSharded, splitDim0, type ShardedTensorInput } from '../src/distributed/index.ts';
import { Repository, type Snapshot } from '../src/repo/index.ts';
import { openS3Store } from '../src/s3.ts';
import { CountingStore } from './s3-counting-store.ts';
import type { Command, RawPutTask, Reply, Task, TaskResult } from './s3-task.ts';
import { slotBytes, type TensorSet } from './tensor-set.ts';
import { loadW1 } from './workloads/w1.ts';

const [bytesText, rankText, worldText] = process.argv.slice(2);
const rank = Number(rankText);
const world = Number(worldText);
const set = await loadW1(Number(bytesText));

function reply(r: Reply): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

/** The epoch time in ms, at sub-millisecond resolution, comparable between processes. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/** A prepared measurement: `run` is the timed part; `finish` may add untimed details. */
interface Prepared {
  run(): Promise<void>;
  finish(): Promise<Omit<TaskResult, 't0' | 't1' | 'cpuSeconds'>>;
}

/**
 * A plain SDK client set up as engram's S3Store sets up its own (path-style, no checksum trailers,
 * which Ceph 16 refuses, keep-alive sockets as many as requests in flight), so the baseline differs
 * from engram only in what engram does on top of the requests.
 */
function rawClient(concurrency: number): S3Client {
  return new S3Client({
    region: process.env.AWS_REGION ?? 'us-east-1',
    endpoint: process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: new HttpAgent({ keepAlive: true, maxSockets: concurrency }) },
  });
}

/** This worker's objects of a raw task: object i covers bytes [i·size, (i+1)·size) of the workload. */
function rawObjects(task: RawPutTask | Omit<RawPutTask, 'kind'>): { key: string; bytes: Uint8Array }[] {
  const data = set.data.subarray(0, set.rawBytes);
  const out: { key: string; bytes: Uint8Array }[] = [];
  for (let i = rank, at = rank * task.objectSize; at < data.byteLength; i += world, at += world * task.objectSize) {
    out.push({ key: `${task.prefix}/obj-${String(i).padStart(6, '0')}`, bytes: data.subarray(at, Math.min(data.byteLength, at + task.objectSize)) });
  }
  return out;
}

/** Runs `each` over `items`, `concurrency` at once; returns the most in flight. */
async function pooled<T>(items: readonly T[], concurrency: number, each: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  let inFlight = 0;
  let most = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      most = Math.max(most, ++inFlight);
      try {
        await each(item);
      } finally {
        inFlight--;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return most;
}

function prepareRaw(task: Task & { kind: 'rawPut' | 'rawGet' }): Prepared {
  const client = rawClient(task.concurrency);
  const objects = rawObjects(task);
  const total = objects.reduce((a, o) => a + o.bytes.byteLength, 0);
  let most = 0;
  let got = 0;
  return {
    async run() {
      if (task.kind === 'rawPut') {
        most = await pooled(objects, task.concurrency, async (o) => {
          await client.send(new PutObjectCommand({ Bucket: task.bucket, Key: o.key, Body: o.bytes, ContentLength: o.bytes.byteLength }));
        });
      } else {
        most = await pooled(objects, task.concurrency, async (o) => {
          const res = await client.send(new GetObjectCommand({ Bucket: task.bucket, Key: o.key }));
          const body = res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
          if (body.byteLength !== o.bytes.byteLength) throw new Error(`GET ${o.key}: ${body.byteLength} bytes, expected ${o.bytes.byteLength}`);
          got += body.byteLength;
        });
      }
    },
    async finish() {
      client.destroy();
      const put = task.kind === 'rawPut';
      return { bytes: total, puts: put ? objects.length : 0, putBytes: put ? total : 0, gets: put ? 0 : objects.length, getBytes: got, maxInFlight: most };
    },
  };
}

/** This rank's rows of every tensor: the dimension-0 split an FSDP-style job would hold. */
function localShards(w: TensorSet): { tensors: Record<string, ShardedTensorInput>; bytes: number } {
  const tensors: Record<string, ShardedTensorInput> = {};
  let bytes = 0;
  for (const slot of w.slots) {
    const box = splitDim0(slot.shape, rank, world);
    const rowBytes = slot.byteLength / slot.shape[0]!;
    const data = slotBytes(w, slot).subarray(box.offsets[0]! * rowBytes, (box.offsets[0]! + box.shape[0]!) * rowBytes);
    tensors[slot.name] = { dtype: slot.dtype, globalShape: slot.shape, shards: [{ offsets: box.offsets, shape: box.shape, data }] };
    bytes += data.byteLength;
  }
  return { tensors, bytes };
}

async function prepareSave(task: Task & { kind: 'save' }): Promise<Prepared> {
  const store = new CountingStore(await openS3Store(task.url));
  const repo = await Repository.open(task.url, { store });
  const { tensors, bytes } = localShards(set);
  let snapshot: string | undefined;
  let storedBytes = 0;
  return {
    async run() {
      const r = await saveSharded(repo, { run: task.run, step: task.step, rank, worldSize: world, tensors, timeoutMs: 300_000 });
      snapshot = r.snapshot?.id;
      storedBytes = r.storedBytes;
    },
    async finish() {
      await repo.close();
      const c = store.counts;
      return { bytes, puts: c.puts, putBytes: c.putBytes, gets: c.gets, getBytes: c.getBytes, maxInFlight: c.maxPutsInFlight, storedBytes, ...(snapshot ? { snapshot } : {}) };
    },
  };
}

async function prepareRestore(task: Task & { kind: 'restore' }): Promise<Prepared> {
  const store = new CountingStore(await openS3Store(task.url));
  const repo = await Repository.open(task.url, { store });
  const snap: Snapshot = await repo.snapshot(task.ref);
  const before = { ...store.counts };
  let restored: Awaited<ReturnType<typeof restoreSharded>> | undefined;
  return {
    async run() {
      restored = await restoreSharded(snap, { rank, worldSize: world });
    },
    async finish() {
      await repo.close();
      const boxes: Record<string, { offsets: number[]; shape: number[]; sha256: string }> = {};
      let bytes = 0;
      for (const [name, s] of restored ?? []) {
        boxes[name] = { offsets: [...s.offsets], shape: [...s.tensor.shape], sha256: createHash('sha256').update(s.tensor.data).digest('hex') };
        bytes += s.tensor.data.byteLength;
      }
      const c = store.counts;
      return { bytes, puts: c.puts - before.puts, putBytes: c.putBytes - before.putBytes, gets: c.gets - before.gets, getBytes: c.getBytes - before.getBytes, maxInFlight: c.maxGetsInFlight, boxes };
    },
  };
}

function prepare(task: Task): Promise<Prepared> | Prepared {
  switch (task.kind) {
    case 'rawPut':
    case 'rawGet':
      return prepareRaw(task);
    case 'save':
      return prepareSave(task);
    case 'restore':
      return prepareRestore(task);
  }
}

let prepared: Prepared | undefined;
reply({ loaded: true });
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line) as Command;
  if (cmd.op === 'exit') break;
  try {
    if (cmd.op === 'prepare') {
      prepared = await prepare(cmd.task);
      reply({ prepared: true });
    } else {
      if (!prepared) throw new Error('go before prepare');
      const p = prepared;
      prepared = undefined;
      const cpu0 = process.cpuUsage();
      const t0 = now();
      await p.run();
      const t1 = now();
      const cpu = process.cpuUsage(cpu0);
      reply({ result: { t0, t1, cpuSeconds: (cpu.user + cpu.system) / 1e6, ...(await p.finish()) } });
    }
  } catch (e) {
    reply({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
}
process.exit(0);
