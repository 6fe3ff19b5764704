import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isId, newId } from '../../src/repo/ids.ts';

test('ids made in the same millisecond still sort in creation order', () => {
  const clock = { now: () => 1_700_000_000_000 };
  const ids = Array.from({ length: 1000 }, () => newId(clock));
  assert.ok(ids.every(isId));
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(ids.every((id) => id.startsWith(ids[0]!.slice(0, 10))), 'time prefix must encode the clock');
});

test('an id is greater than the one it must follow, even when that one is from a later clock', () => {
  const after = newId({ now: () => 1_800_000_000_000 });
  const id = newId({ now: () => 1_700_000_000_000 }, after);
  assert.ok(id > after, `${id} <= ${after}`);
  assert.ok(isId(id));
});
