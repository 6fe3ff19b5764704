/**
 * Locks of processes that are gone (issue 11, item 9): a save intent or GC marker whose owner ran
 * on this machine and has exited is recognised at once — by host, boot id, pid namespace, pid and
 * start time — while owners on other hosts, in other pid namespaces, or alive keep the time-based
 * lease. Real processes: a child node process that has exited gives a pid that is really free.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { after, test } from 'node:test';
import { chunkKey } from '../../src/repo/chunk-key.ts';
import { gcMarkerKey, intentKey } from '../../src/repo/coordination.ts';
import { currentProcess } from '../../src/repo/process-identity.ts';
import { beginSave, newId, releaseHeldLocks, Repository, systemClock } from '../../src/repo/index.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { sha256Hex } from '../../src/codec/index.ts';
import { f32Tensor } from '../helpers/weights.ts';

const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

/** The pid of a node process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((res) => child.on('exit', res));
  return child.pid!;
}

const live: ChildProcess[] = [];
after(() => { for (const c of live) c.kill('SIGKILL'); });

/** A node process that stays alive until the test ends (stdin open), and its /proc start time. */
async function livePid(): Promise<{ pid: number; procStart: string }> {
  const child = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
  live.push(child);
  await new Promise((res) => child.on('spawn', res));
  const { readFile } = await import('node:fs/promises');
  // Its start time as the kernel recorded it (field 22, after the parenthesised command name).
  const stat = await readFile(`/proc/${child.pid}/stat`, 'latin1');
  return { pid: child.pid!, procStart: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]! };
}

/** A repository with one orphan chunk (forgotten snapshot) that a GC with grace 0 may delete. */
async function setup(): Promise<{ repo: Repository; store: MemoryStore; orphan: string }> {
  const store = new MemoryStore();
  const repo = await Repository.init('memory://', { store, chunkSize: 16 * 1024, smallThreshold: 4096 });
  await repo.save({ run: 'gone', step: 0, tensors: { w: f32Tensor([4096], 1) } });
  await repo.forget({ run: 'gone', rules: [], all: true, keepNewest: false });
  await repo.save({ run: 'kept', step: 0, tensors: { w: f32Tensor([4096], 2) } });
  return { repo, store, orphan: chunkKey(sha256Hex(f32Tensor([4096], 1).data)) };
}

/** An owner record as another engram process on this machine would write it. */
function owner(pid: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...currentProcess(), startedAt: new Date().toISOString(), pid, procStart: undefined, ...extra };
}

test('a save intent whose process on this host has exited does not stop gc, and is removed', async () => {
  const { repo, store, orphan } = await setup();
  await store.put(intentKey(newId(systemClock)), json(owner(await deadPid())));
  const report = await repo.gc({ graceMs: 0 });
  assert.equal(report.skipped, undefined, report.skipped?.message);
  assert.equal(report.staleIntentsRemoved, 1);
  assert.equal(report.swept, 1);
  assert.equal(await store.head(orphan), undefined);
});

test('an intent whose pid now belongs to a later process (another start time) is recognised as dead', async () => {
  const { repo, store } = await setup();
  const other = await livePid();
  await store.put(intentKey(newId(systemClock)), json(owner(other.pid, { procStart: String(Number(other.procStart) + 1) })));
  const report = await repo.gc({ graceMs: 0 });
  assert.equal(report.skipped, undefined, report.skipped?.message);
  assert.equal(report.staleIntentsRemoved, 1);
});

test('intents of live processes, other hosts, other boots and other pid namespaces keep blocking gc', async () => {
  const { repo, store, orphan } = await setup();
  const alive = await livePid();
  const dead = await deadPid();
  const cases = [
    owner(alive.pid, { procStart: alive.procStart }),
    owner(alive.pid), // no start time recorded: pid alone
    owner(dead, { host: `not-${hostname()}` }),
    owner(dead, { bootId: '00000000-0000-0000-0000-000000000000' }),
    owner(dead, { pidNs: 'pid:[1]' }),
  ];
  for (const c of cases) {
    const key = intentKey(newId(systemClock));
    await store.put(key, json(c));
    const report = await repo.gc({ graceMs: 0 });
    assert.equal(report.skipped?.reason, 'saves-in-flight', JSON.stringify(c));
    assert.match(report.skipped!.message, new RegExp(`pid ${c.pid} on `), 'the message names who holds it');
    assert.ok(await store.head(orphan));
    await store.delete(key);
  }
});

test('a save does not wait for a GC marker whose process on this host has exited', async () => {
  const store = new MemoryStore();
  await store.put(gcMarkerKey(newId(systemClock)), json(owner(await deadPid())));
  const intent = await beginSave(store, systemClock, { sleep: async () => assert.fail('must not wait for a dead GC') });
  assert.deepEqual(intent.waitedFor, []);
  await intent.end();
});

test('a waiting save is told which GC it waits for, its owner, and how long it will wait', async () => {
  const store = new MemoryStore();
  const alive = await livePid();
  const gc = newId(systemClock);
  await store.put(gcMarkerKey(gc), json(owner(alive.pid, { procStart: alive.procStart })));
  const waits: { ids: string[]; pid: number | undefined; max: number; expires: number | undefined }[] = [];
  const intent = await beginSave(store, systemClock, {
    onWait: (w) => waits.push({ ids: w.gcs.map((g) => g.gcId), pid: w.gcs[0]?.owner?.pid, max: w.maxWaitMs, expires: w.expiresAt.get(gc) }),
    sleep: async () => { await store.put(gcMarkerKey(gc).replace('.json', '.done'), json({})); },
  });
  assert.equal(waits.length, 1);
  assert.deepEqual(waits[0]!.ids, [gc]);
  assert.equal(waits[0]!.pid, alive.pid);
  assert.ok(waits[0]!.max > 0 && waits[0]!.expires !== undefined);
  await intent.end();
});

test('releaseHeldLocks withdraws a save intent and the save can no longer commit', async () => {
  const store = new MemoryStore();
  const intent = await beginSave(store, systemClock);
  assert.ok(await store.head(intentKey(intent.id)));
  assert.equal(await releaseHeldLocks(), 1);
  assert.equal(await store.head(intentKey(intent.id)), undefined);
  assert.throws(() => intent.assertLive(), /lost its claim/);
  assert.equal(await releaseHeldLocks(), 0);
});
