import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../../src/store/index.ts';
import { runObjectStoreConformance } from './object-store.conformance.ts';

runObjectStoreConformance('memory', { create: async () => new MemoryStore() });

test('MemoryStore takes its mtimes from the injected clock', async () => {
  const s = new MemoryStore({ clock: { now: () => 1234 } });
  await s.put('k', new Uint8Array(1));
  assert.equal((await s.head('k'))?.mtimeMs, 1234);
});

test('MemoryStore returns copies: mutating what get returned does not change the object', async () => {
  const s = new MemoryStore();
  await s.put('k', Uint8Array.from([1, 2]));
  (await s.get('k'))[0] = 9;
  assert.deepEqual(await s.get('k'), Uint8Array.from([1, 2]));
});
