/**
 * The save/GC protocol step by step with a fake clock, on a memory store and on S3 against the real
 * Ceph RGW (where mtimes come from the server, so the fake clock runs at real time plus what the
 * test advances it by): intents block sweeping,
 * stale intents and markers expire, saves wait for running GCs, a save that lost its claim does not
 * commit, a GC stops at the end of its lease, and a Repository forgets cached chunks another process
 * may have collected. test/cli/gc-race.test.ts races real processes.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { chunkKey } from '../../src/repo/chunk-key.ts';
import { gcDoneKey, gcMarkerKey, intentKey, STALE_MS } from '../../src/repo/coordination.ts';
import { beginSave, newId, Repository } from '../../src/repo/index.ts';
import { MemoryStore, type ObjectStore, type PutOptions } from '../../src/store/index.ts';
import { sha256Hex } from '../../src/codec/index.ts';
import { CountingStore } from '../helpers/counting-store.ts';
import { s3StoreTracker } from '../helpers/s3-test-store.ts';
import { f32Tensor } from '../helpers/weights.ts';

/** `base()` plus whatever the test advanced: a fixed base on memory, the real time on S3. */
class FakeClock {
  readonly #base: () => number;
  #advanced = 0;
  constructor(base: () => number) { this.#base = base; }
  now(): number { return this.#base() + this.#advanced; }
  advance(ms: number): void { this.#advanced += ms; }
}

/** A backend: its clock, and a fresh store whose mtimes agree with that clock. */
interface Backend {
  readonly name: string;
  clock(): FakeClock;
  fresh(clock: FakeClock): Promise<ObjectStore>;
}

const s3 = s3StoreTracker();
after(() => s3.cleanup());
const BACKENDS: readonly Backend[] = [
  { name: 'memory', clock: () => new FakeClock(() => Date.UTC(2026, 0, 1)), fresh: async (clock) => new MemoryStore({ clock }) },
  // The server stamps mtimes with its own (real) clock, so the fake one must start at real time.
  { name: 's3', clock: () => new FakeClock(() => Date.now()), fresh: () => s3.fresh('gc-protocol') },
];

/** A store that runs `onPut` before each put, to move the clock at a chosen point of a protocol. */
class HookStore extends CountingStore {
  onPut: (key: string) => void = () => {};
  override put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean> {
    this.onPut(key);
    return super.put(key, data, options);
  }
}

async function setupOn(backend: Backend): Promise<{ repo: Repository; store: HookStore; clock: FakeClock; orphan: string }> {
  const clock = backend.clock();
  const store = new HookStore(await backend.fresh(clock));
  const repo = await Repository.init('memory://', { store, clock, chunkSize: 16 * 1024, smallThreshold: 4096 });
  await repo.save({ run: 'gone', step: 0, tensors: { w: f32Tensor([4096], 1) } });
  await repo.forget({ run: 'gone', rules: [], all: true, keepNewest: false });
  await repo.save({ run: 'kept', step: 0, tensors: { w: f32Tensor([4096], 2) } });
  return { repo, store, clock, orphan: chunkKey(sha256Hex(f32Tensor([4096], 1).data)) };
}

async function keys(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out.sort();
}

const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

for (const backend of BACKENDS) describe(`save intents and gc markers (${backend.name})`, () => {
  const setup = (): ReturnType<typeof setupOn> => setupOn(backend);
  test('a GC deletes no chunk while a save is in flight, and sweeps once it has ended', async () => {
    const { repo, store, clock, orphan } = await setup();
    const intent = await beginSave(store, clock);
    assert.deepEqual(await keys(store, 'staging/'), [intentKey(intent.id)]);
    const blocked = await repo.gc({ graceMs: 0 });
    assert.equal(blocked.skipped?.reason, 'saves-in-flight');
    assert.equal(blocked.savesInFlight, 1);
    assert.equal(blocked.swept, 0);
    assert.equal(blocked.unreferenced, 1, 'it still reports what it found');
    assert.ok(await store.head(orphan));
    await intent.end();
    assert.deepEqual(await keys(store, 'staging/'), []);
    const free = await repo.gc({ graceMs: 0 });
    assert.equal(free.skipped, undefined);
    assert.equal(free.swept, 1);
    assert.equal(await store.head(orphan), undefined);
  });

  test('a crashed save\'s intent blocks GC only until it is stale, then is removed', async () => {
    const { repo, store, clock, orphan } = await setup();
    const id = newId(clock);
    // Written by hand, claiming to have started a day ago: the store's mtime (now) still vouches for
    // it, because an owner counts as dead only when both clocks say so.
    await store.put(intentKey(id), json({ startedAt: new Date(clock.now() - 86_400_000).toISOString(), host: 'elsewhere', pid: 1 }));
    assert.equal((await repo.gc({ graceMs: 0 })).skipped?.reason, 'saves-in-flight');
    clock.advance(STALE_MS + 1);
    const report = await repo.gc({ graceMs: 0 });
    assert.equal(report.skipped, undefined);
    assert.equal(report.staleIntentsRemoved, 1);
    assert.equal(report.swept, 1);
    assert.equal(await store.head(orphan), undefined);
    assert.deepEqual(await keys(store, 'staging/'), []);
  });

  test('a save waits while a GC is running, and not for a finished or a stale one', async () => {
    const { store, clock } = await setup();
    const running = newId(clock);
    await store.put(gcMarkerKey(running), json({ startedAt: new Date(clock.now()).toISOString(), host: 'h', pid: 2 }));
    let polls = 0;
    const intent = await beginSave(store, clock, {
      sleep: async () => {
        polls++;
        if (polls === 3) await store.put(gcDoneKey(running), json({}));
      },
    });
    assert.equal(polls, 3);
    assert.deepEqual(intent.waitedFor, [running]);
    assert.ok(intent.gcIds.has(running));
    await intent.end();

    const crashed = newId(clock);
    await store.put(gcMarkerKey(crashed), json({ startedAt: new Date(clock.now()).toISOString(), host: 'h', pid: 3 }));
    clock.advance(STALE_MS + 1);
    const second = await beginSave(store, clock, { sleep: async () => assert.fail('must not wait for a stale GC') });
    assert.deepEqual(second.waitedFor, []);
    await second.end();

    const stuck = newId(clock);
    await store.put(gcMarkerKey(stuck), json({ startedAt: new Date(clock.now() + STALE_MS * 10).toISOString(), host: 'h', pid: 4 }));
    await assert.rejects(
      beginSave(store, clock, { maxWaitMs: 1000, sleep: async () => clock.advance(600) }),
      (e) => isEngramError(e, 'Conflict') && /retry the save/.test(e.message),
    );
    assert.deepEqual(await keys(store, 'staging/'), [], 'a save that gives up removes its intent');
  });

  test('a save that lost its claim does not commit', async () => {
    const { repo, store, clock } = await setup();
    const before = await repo.snapshotIds();
    // The process "pauses" for STALE_MS while writing its first chunk: a GC could have taken it
    // for crashed in that time, so the manifest must not be written.
    store.onPut = (key) => {
      if (key.startsWith('chunks/')) clock.advance(STALE_MS);
    };
    await assert.rejects(
      repo.save({ run: 'kept', step: 1, tensors: { w: f32Tensor([4096], 3) } }),
      (e) => isEngramError(e, 'Conflict') && /did not commit/.test(e.message),
    );
    store.onPut = () => {};
    assert.deepEqual(await repo.snapshotIds(), before);
    assert.deepEqual(await keys(store, 'staging/'), [], 'the failed save removed its intent');
    const intent = await beginSave(store, clock);
    assert.doesNotThrow(() => intent.assertLive());
    clock.advance(STALE_MS / 2);
    assert.throws(() => intent.assertLive(), (e) => isEngramError(e, 'Conflict'));
    await assert.doesNotReject(intent.guard(store).put('chunks/00/x', new Uint8Array(1)));
    assert.throws(() => intent.guard(store).put('snapshots/X.json', new Uint8Array(1)), (e) => isEngramError(e, 'Conflict'));
    await intent.end();
  });

  test('a GC stops deleting when its lease runs out, and says so', async () => {
    const { repo, store, clock, orphan } = await setup();
    store.onPut = (key) => {
      if (/^gc\/[0-9A-Z]{26}\.json$/.test(key)) clock.advance(STALE_MS / 2);
    };
    const report = await repo.gc({ graceMs: 0 });
    store.onPut = () => {};
    assert.equal(report.skipped?.reason, 'deadline');
    assert.equal(report.swept, 0);
    assert.ok(await store.head(orphan));
    assert.ok(await store.head(gcDoneKey(report.id!)), 'it still writes .done, so saves need not wait');
  });

  test('a GC removes finished and crashed GCs\' markers and keeps its own', async () => {
    const { repo, store, clock } = await setup();
    const finished = newId(clock);
    await store.put(gcMarkerKey(finished), json({ startedAt: new Date(clock.now()).toISOString(), host: 'h', pid: 5 }));
    await store.put(gcDoneKey(finished), json({}));
    const crashed = newId(clock);
    await store.put(gcMarkerKey(crashed), json({ startedAt: new Date(clock.now()).toISOString(), host: 'h', pid: 6 }));
    clock.advance(STALE_MS + 1);
    const report = await repo.gc({ graceMs: 0 });
    assert.equal(report.gcMarkersRemoved, 2);
    // gc/reserve is the room kept for a GC's marker on a full disk (gc.ts), not a marker.
    assert.deepEqual(await keys(store, 'gc/'), [gcDoneKey(report.id!), gcMarkerKey(report.id!), 'gc/reserve']);
  });

  test('a damaged manifest stops GC from deleting anything', async () => {
    const { repo, store, orphan } = await setup();
    await store.put(`snapshots/${newId()}.json`, json({ not: 'a manifest' }));
    const report = await repo.gc({ graceMs: 0 });
    assert.equal(report.skipped?.reason, 'damaged-manifests');
    assert.ok(await store.head(orphan));
  });

  test('a Repository stops trusting its chunk cache once another process has collected garbage', async () => {
    const { store, clock } = await setup();
    const mine = await Repository.open('memory://', { store, clock });
    const w = f32Tensor([4096], 42);
    const first = await mine.save({ run: 'cache', step: 0, tensors: { w } });
    // Another process forgets that snapshot and collects its chunk.
    const theirs = await Repository.open('memory://', { store, clock });
    await theirs.forget({ run: 'cache', rules: [], all: true, keepNewest: false });
    assert.equal((await theirs.gc({ graceMs: 0 })).swept, 2, 'its chunk and the orphan setup() left');
    assert.equal(await store.head(chunkKey(sha256Hex(w.data))), undefined);
    // The same bytes again: the cache says the chunk exists, but a new GC marker says it may not.
    const again = await mine.save({ run: 'cache', step: 1, parent: null, tensors: { w } });
    assert.notEqual(again.id, first.id);
    assert.ok(await store.head(chunkKey(sha256Hex(w.data))), 'the chunk was stored again');
    const verify = await mine.verify();
    assert.equal(verify.ok, true, JSON.stringify(verify.findings));
  });

  test('a cached manifest another process forgot and collected is not trusted as a parent', async () => {
    const { store, clock } = await setup();
    const mine = await Repository.open('memory://', { store, clock });
    const w = f32Tensor([4096], 43);
    const first = await mine.save({ run: 'p', step: 0, tensors: { w }, tags: ['x'] });
    const theirs = await Repository.open('memory://', { store, clock });
    await theirs.forget({ run: 'p', rules: [], all: true, keepNewest: false, keepTagged: false });
    await theirs.gc({ graceMs: 0 });
    // `mine` still has the manifest cached and the dangling tag still names it: seeding the chunk
    // cache from it would commit a snapshot whose chunk is gone.
    await assert.rejects(mine.save({ run: 'p', step: 1, parent: 'tag:x', tensors: { w } }), (e) => isEngramError(e, 'NotFound') && e.message.includes(first.id));
    assert.deepEqual(await mine.snapshotIds(), (await theirs.snapshotIds()));
    assert.equal((await mine.verify()).findings.filter((f) => f.kind !== 'dangling-ref').length, 0);
  });
});
