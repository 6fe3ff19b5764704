import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngramError, type EngramError } from '../../src/errors/index.ts';
import { Repository, type Clock } from '../../src/repo/index.ts';
import { MemoryStore, type ObjectStore } from '../../src/store/index.ts';
import {
  CheckpointManager, decideSave, readTrainingState, Rng, type CheckpointEvent, type CheckpointManagerOptions, type SavePolicy, type TrainingState,
} from '../../src/train/index.ts';
import { FailingStore, GatedStore } from './fixtures/stores.ts';

/** A toy training state whose every value says which step it belongs to. */
class Toy {
  readonly a = new Float32Array(20_000); // 80 KB: chunked, not bundled
  readonly b = new Float32Array(64);
  readonly m = new Float32Array(20_000);
  readonly rng = new Rng(1);
  step = 0;

  /** Advances to `step`, overwriting every buffer in place. */
  to(step: number): this {
    this.step = step;
    this.a.fill(step);
    this.b.fill(-step);
    this.m.fill(step / 2);
    this.rng.nextUint32();
    return this;
  }

  state(): TrainingState {
    const v = (f: Float32Array, shape: number[]) => ({ dtype: 'F32' as const, shape, data: new Uint8Array(f.buffer) });
    return {
      model: { a: v(this.a, [this.a.length]), b: v(this.b, [64]) },
      optimizer: { name: 'sgd', step: this.step, slots: [{ name: 'a/momentum', tensor: v(this.m, [this.m.length]) }] },
      rng: { main: this.rng.getState() },
      data: { epoch: 0, index: this.step * 10 },
      user: { step: this.step },
    };
  }
}

async function setup(store: ObjectStore = new MemoryStore()): Promise<Repository> {
  return Repository.init('memory://', { store });
}

function manager(repo: Repository, options: Partial<CheckpointManagerOptions> = {}): { manager: CheckpointManager; events: CheckpointEvent[] } {
  const events: CheckpointEvent[] = [];
  return { manager: new CheckpointManager(repo, { run: 'r', onEvent: (e) => events.push(e), ...options }), events };
}

/** Lets every pending callback (I/O of the memory store included) run a few times over. */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** Asserts that the snapshot of `step` holds exactly the toy state of that step. */
async function assertHoldsStep(repo: Repository, step: number): Promise<void> {
  const s = await readTrainingState(await repo.snapshot(`r@${step}`));
  const f32 = (t: { data: Uint8Array }): Float32Array => new Float32Array(t.data.slice().buffer);
  assert.ok(f32(s.model.a!).every((x) => x === step), `step ${step}: model a holds other steps' values`);
  assert.ok(f32(s.model.b!).every((x) => x === -step), `step ${step}: model b`);
  assert.ok(f32(s.optimizer!.slots[0]!.tensor).every((x) => x === step / 2), `step ${step}: slot`);
  assert.equal(s.optimizer!.step, step);
  assert.deepEqual(s.data, { epoch: 0, index: step * 10 });
  assert.deepEqual(s.user, { step });
}

describe('CheckpointManager: asynchronous saves', () => {
  test('save() resolves once staged; the checkpoint is exactly the staged step even though training overwrote its buffers', async () => {
    const store = new GatedStore(new MemoryStore());
    const repo = await setup(store);
    const { manager: mgr, events } = manager(repo, { maxInFlight: 4 });
    const toy = new Toy();
    store.hold();
    const handles = [];
    for (let step = 1; step <= 4; step++) {
      const h = await mgr.save(step, toy.to(step).state());
      assert.equal(h.saved, true);
      handles.push(h);
      // Training continues at once and overwrites every buffer while the commit cannot even start.
      toy.to(step + 1000);
    }
    await settle();
    assert.equal(mgr.inFlight, 4);
    assert.equal(events.filter((e) => e.type === 'committed').length, 0, 'nothing can have committed behind the held gate');
    store.release();
    const snaps = await Promise.all(handles.map((h) => h.durable));
    await mgr.close();
    for (let step = 1; step <= 4; step++) await assertHoldsStep(repo, step);
    // Commits ran in save order, each descending from the one before.
    assert.deepEqual(snaps.map((s) => s!.parent), [null, snaps[0]!.id, snaps[1]!.id, snaps[2]!.id]);
    assert.deepEqual(events.filter((e) => e.type === 'committed').map((e) => e.step), [1, 2, 3, 4]);
  });

  test('overwriting the buffers while a commit is stopped at each of its writes in turn never mixes two steps', async () => {
    const store = new GatedStore(new MemoryStore());
    const repo = await setup(store);
    const { manager: mgr } = manager(repo, { maxInFlight: 1 });
    const toy = new Toy();
    for (let step = 1; step <= 6; step++) {
      // Stop the commit at its intent, its first chunk, its second, … its manifest.
      store.holdAfter(step - 1);
      await mgr.save(step, toy.to(step).state());
      while (store.waiting === 0 && mgr.inFlight > 0) await settle(1);
      toy.to(-step);
      store.release();
      await mgr.wait();
    }
    await mgr.close();
    for (let step = 1; step <= 6; step++) await assertHoldsStep(repo, step);
  });

  test('staging buffers are reused: only the first save allocates', async () => {
    const repo = await setup();
    const { manager: mgr, events } = manager(repo, { maxInFlight: 1 });
    const toy = new Toy();
    for (let step = 1; step <= 5; step++) await mgr.save(step, toy.to(step).state());
    await mgr.close();
    const staged = events.flatMap((e) => (e.type === 'staged' ? [e] : []));
    assert.equal(staged.length, 5);
    assert.equal(staged[0]!.allocatedBytes, (20_000 + 64 + 20_000) * 4);
    assert.deepEqual(staged.slice(1).map((e) => e.allocatedBytes), [0, 0, 0, 0]);
    for (let step = 1; step <= 5; step++) await assertHoldsStep(repo, step);
  });

  test('backpressure: with maxInFlight 2 a third save waits for a slot before staging', async () => {
    const store = new GatedStore(new MemoryStore());
    const repo = await setup(store);
    const { manager: mgr, events } = manager(repo, { maxInFlight: 2 });
    const toy = new Toy();
    store.hold();
    await mgr.save(1, toy.to(1).state());
    await mgr.save(2, toy.to(2).state());
    let third = false;
    const p3 = mgr.save(3, toy.to(3).state()).then((h) => ((third = true), h));
    await settle();
    assert.equal(third, false, 'the third save must wait while two are in flight');
    assert.equal(mgr.inFlight, 2);
    assert.deepEqual(events.filter((e) => e.type === 'backpressure'), [{ type: 'backpressure', step: 3, inFlight: 2 }]);
    assert.equal(events.filter((e) => e.type === 'staged').length, 2, 'the third is not staged yet');
    // The state may still change while save(3) waits: what it stages is the state when a slot frees.
    toy.to(3);
    store.release();
    const h3 = await p3;
    assert.equal(third, true);
    assert.ok(mgr.inFlight <= 2);
    await h3.durable;
    await mgr.close();
    for (const step of [1, 2, 3]) await assertHoldsStep(repo, step);
  });

  test('a failed background save is reported as an error event and thrown by the next save()', async () => {
    const store = new FailingStore(new MemoryStore());
    const repo = await setup(store);
    const { manager: mgr, events } = manager(repo);
    const toy = new Toy();
    await (await mgr.save(1, toy.to(1).state())).durable;
    store.failAfter(2); // the next save gets its intent and one chunk out, then the store fails
    const h2 = await mgr.save(2, toy.to(2).state());
    assert.equal(h2.saved, true, 'staging does not touch the store');
    await assert.rejects(h2.durable, (e) => isEngramError(e, 'IOError'));
    const err = events.find((e) => e.type === 'error');
    assert.ok(err && err.type === 'error' && err.step === 2 && isEngramError(err.error, 'IOError'), JSON.stringify(events.map((e) => e.type)));
    await assert.rejects(mgr.save(3, toy.to(3).state()), (e: EngramError) => {
      assert.equal(e.code, 'IOError');
      assert.match(e.message, /background save of r@2 failed: injected failure/);
      assert.equal(e.data.step, 2);
      return true;
    });
    // Reported once: with the store healthy again, saving goes on.
    store.failAfter(Number.POSITIVE_INFINITY);
    await (await mgr.save(3, toy.state())).durable;
    await mgr.close();
    await assert.rejects(repo.snapshot('r@2'), (e) => isEngramError(e, 'NotFound'));
    await assertHoldsStep(repo, 3);
  });

  test('a failure nobody awaited surfaces from wait() and from close()', async () => {
    for (const how of ['wait', 'close'] as const) {
      const store = new FailingStore(new MemoryStore());
      const repo = await setup(store);
      const { manager: mgr, events } = manager(repo);
      store.failAfter(0);
      await mgr.save(1, new Toy().to(1).state()); // durable never observed: no unhandled rejection
      await assert.rejects(how === 'wait' ? mgr.wait() : mgr.close(), (e) => isEngramError(e, 'IOError'), how);
      assert.equal(events.filter((e) => e.type === 'error').length, 1, how);
      if (how === 'wait') await mgr.close(); // already reported
    }
  });

  test('a listener that throws does not break the save; its error surfaces from the next call', async () => {
    const repo = await setup();
    const mgr = new CheckpointManager(repo, { run: 'r', onEvent: (e) => { if (e.type === 'committed') throw new Error('listener bug'); } });
    await (await mgr.save(1, new Toy().to(1).state())).durable;
    await assert.rejects(mgr.wait(), /listener bug/);
    await mgr.close();
    await assertHoldsStep(repo, 1);
  });
});

describe('CheckpointManager: synchronous saves', () => {
  test('save() resolves once committed and saves the caller\'s buffers without staging', async () => {
    const repo = await setup();
    const { manager: mgr, events } = manager(repo, { async: false });
    const toy = new Toy();
    const h = await mgr.save(1, toy.to(1).state());
    assert.ok(events.some((e) => e.type === 'committed' && e.step === 1), 'committed before save() returned');
    assert.equal(events.filter((e) => e.type === 'staged').length, 0);
    assert.equal((await h.durable)!.step, 1);
    toy.to(99);
    await assertHoldsStep(repo, 1);
    await mgr.close();
  });

  test('a failing store throws from save() itself, and is reported as an event', async () => {
    const store = new FailingStore(new MemoryStore());
    const repo = await setup(store);
    const { manager: mgr, events } = manager(repo, { async: false });
    store.failAfter(1);
    await assert.rejects(mgr.save(1, new Toy().to(1).state()), (e) => isEngramError(e, 'IOError'));
    assert.equal(events.filter((e) => e.type === 'error').length, 1);
    await mgr.close(); // nothing left pending: it was thrown already
  });
});

describe('save policies', () => {
  const ctx = (step: number, extra: Partial<Parameters<typeof decideSave>[1]> = {}) => ({ step, lastSavedStep: undefined, secondsSinceLastSave: 0, metrics: {}, ...extra });

  test('each policy alone', () => {
    assert.deepEqual(decideSave([{ kind: 'every-steps', n: 5 }], ctx(10)), { save: true, reason: 'every 5 steps' });
    assert.equal(decideSave([{ kind: 'every-steps', n: 5 }], ctx(11)).save, false);
    assert.equal(decideSave([{ kind: 'every-seconds', seconds: 60 }], ctx(3, { secondsSinceLastSave: 59.9 })).save, false);
    assert.equal(decideSave([{ kind: 'every-seconds', seconds: 60 }], ctx(3, { secondsSinceLastSave: 60 })).save, true);
    assert.equal(decideSave([{ kind: 'steps', steps: [7, 9] }], ctx(9)).save, true);
    assert.equal(decideSave([{ kind: 'steps', steps: [7, 9] }], ctx(8)).save, false);
    const lowLoss: SavePolicy = { kind: 'predicate', label: 'loss below 0.1', test: (c) => (c.metrics.loss ?? Infinity) < 0.1 };
    assert.deepEqual(decideSave([lowLoss], ctx(4, { metrics: { loss: 0.05 } })), { save: true, reason: 'loss below 0.1' });
    assert.equal(decideSave([lowLoss], ctx(4, { metrics: { loss: 0.5 } })).save, false);
    assert.equal(decideSave([{ kind: 'every-steps', n: 1 }], ctx(4, { lastSavedStep: 4 })).save, false, 'a step already saved');
  });

  test('composed policies save when any says so; the manager applies them with its clock', async () => {
    let now = 1_000_000;
    const clock: Clock = { now: () => now };
    const repo = await setup();
    const { manager: mgr } = manager(repo, {
      clock,
      policies: [{ kind: 'every-steps', n: 10 }, { kind: 'every-seconds', seconds: 30 }, { kind: 'steps', steps: [3] }, { kind: 'predicate', test: (c) => c.metrics.accuracy === 1 }],
    });
    const toy = new Toy();
    const saved: number[] = [];
    for (let step = 1; step <= 25; step++) {
      now += step === 14 ? 40_000 : 1_000; // a slow step 14: 40 s since the save at 10
      const h = await mgr.save(step, toy.to(step).state(), { metrics: { accuracy: step === 17 ? 1 : 0.5 } });
      if (h.saved) saved.push(step);
    }
    assert.deepEqual(saved, [3, 10, 14, 17, 20]);
    assert.equal((await mgr.save(21, toy.to(21).state(), { force: true })).reason, 'forced');
    await mgr.close();
    assert.deepEqual((await repo.log('r')).map((s) => s.step), [3, 10, 14, 17, 20, 21]);
  });

  test('policies that cannot be meant are refused', async () => {
    const repo = await setup();
    for (const p of [{ kind: 'every-steps', n: 0 }, { kind: 'every-seconds', seconds: -1 }, { kind: 'steps', steps: [1.5] }, { kind: 'nope' }]) {
      assert.throws(() => new CheckpointManager(repo, { run: 'r', policies: p as SavePolicy }), (e) => isEngramError(e, 'InvalidArgument'), JSON.stringify(p));
    }
    assert.throws(() => new CheckpointManager(repo, { run: 'r', maxInFlight: 0 }), (e) => isEngramError(e, 'InvalidArgument'));
    assert.throws(() => new CheckpointManager(repo, { run: 'bad run' }), (e) => isEngramError(e, 'InvalidArgument'));
  });
});

describe('CheckpointManager: retention, best tag and restore', () => {
  test('retention applies after each durable save and never forgets the newest or a tagged checkpoint', async () => {
    const repo = await setup();
    const { manager: mgr, events } = manager(repo, { retention: [{ kind: 'last', n: 2 }], best: { metric: 'loss' } });
    const toy = new Toy();
    const losses = [0.9, 0.5, 0.2, 0.4, 0.6, 0.7];
    for (const [i, loss] of losses.entries()) await (await mgr.save(i + 1, toy.to(i + 1).state(), { metrics: { loss } })).durable;
    await mgr.close();
    assert.deepEqual((await repo.log('r')).map((s) => s.step), [3, 5, 6], 'last 2, plus step 3 which tag best keeps');
    assert.equal(await repo.resolve('tag:best'), await repo.resolve('r@3'));
    const forgotten = events.flatMap((e) => (e.type === 'retention' ? e.forgotten : []));
    assert.equal(forgotten.length, 3);
    const best = events.flatMap((e) => (e.type === 'best' ? [[e.step, e.value]] : []));
    assert.deepEqual(best, [[1, 0.9], [2, 0.5], [3, 0.2]], 'best moves only on improvement');
    assert.deepEqual((await repo.tagHistory('best')).map((e) => e.message.split(' ')[1]), ['loss=0.9', 'loss=0.5', 'loss=0.2']);
  });

  test('best by a maximised metric, and a custom tag', async () => {
    const repo = await setup();
    const { manager: mgr } = manager(repo, { best: { metric: 'accuracy', tag: 'r.best' } });
    const toy = new Toy();
    for (const [i, accuracy] of [0.5, 0.8, 0.7].entries()) await mgr.save(i + 1, toy.to(i + 1).state(), { metrics: { accuracy } });
    await mgr.close();
    assert.equal(await repo.resolve('r.best'), await repo.resolve('r@2'));
  });

  test('restore by latest, step, ref and best; latestStep; NotFound for what does not exist', async () => {
    const repo = await setup();
    const { manager: mgr, events } = manager(repo);
    assert.equal(await mgr.latestStep(), undefined);
    await assert.rejects(mgr.restore('latest'), (e) => isEngramError(e, 'NotFound'));
    const toy = new Toy();
    for (const [i, loss] of [0.3, 0.1, 0.2].entries()) await mgr.save(i + 1, toy.to(i + 1).state(), { metrics: { loss } });
    assert.equal(await mgr.latestStep(), 3); // waits for the saves in flight
    assert.equal((await mgr.restore()).step, 3);
    assert.equal((await mgr.restore({ step: 1 })).optimizer!.step, 1);
    assert.equal((await mgr.restore({ best: 'loss' })).step, 2);
    assert.equal((await mgr.restore({ best: 'loss', mode: 'max' })).step, 1);
    assert.equal((await mgr.restore({ ref: 'r@latest~1' })).step, 2);
    await assert.rejects(mgr.restore({ step: 9 }), (e) => isEngramError(e, 'NotFound'));
    assert.deepEqual(events.filter((e) => e.type === 'restored').map((e) => (e.type === 'restored' ? e.step : 0)), [3, 1, 2, 1, 2]);
    // Restored into the caller's buffers.
    const fresh = new Toy();
    await mgr.restore({ step: 2 }, { into: { model: fresh.state().model, optimizer: fresh.state().optimizer!.slots } });
    assert.ok(fresh.a.every((x) => x === 2) && fresh.m.every((x) => x === 1));
    // The next checkpoint descends from the restored one.
    const next = await (await mgr.save(4, toy.to(4).state(), { force: true })).durable;
    assert.equal(next!.parent, await repo.resolve('r@2'));
    await mgr.close();
    await assert.rejects(mgr.save(5, toy.state()), (e) => isEngramError(e, 'InvalidArgument') && /closed/.test(e.message));
  });
});
