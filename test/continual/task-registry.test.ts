/** TaskRegistry: ACC, BWT and F on hand-computed matrices (with missing entries), round trip, typed errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { taskMeasures, TaskRegistry } from '../../src/continual/index.ts';
import { isEngramError } from '../../src/errors/index.ts';
import { bytes } from './helpers.ts';

const close = (a: number | null, b: number, what: string): void => {
  assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);
};

test('measures of a full 3×3 matrix, computed by hand', () => {
  // R[i][j]: after task i, on task j.
  const r = [
    [0.9, 0.1, 0.2],
    [0.6, 0.8, 0.3],
    [0.5, 0.7, 0.95],
  ];
  const m = taskMeasures(r);
  close(m.acc, (0.5 + 0.7 + 0.95) / 3, 'ACC');
  close(m.bwt, ((0.5 - 0.9) + (0.7 - 0.8)) / 2, 'BWT');
  // F: task 0's best before T is 0.9, task 1's is 0.8 (R[0][1] = 0.1 counts but is lower).
  close(m.forgetting, ((0.9 - 0.5) + (0.8 - 0.7)) / 2, 'F');
});

test('missing entries are left out; T is the last row with an entry', () => {
  const r = [
    [0.9, null, null, null],
    [0.4, 0.8, null, null],
    [null, 0.5, 0.7, null],
    [null, null, null, null],
  ];
  const m = taskMeasures(r);
  close(m.acc, (0.5 + 0.7) / 2, 'ACC over recorded j ≤ T');
  close(m.bwt, 0.5 - 0.8, 'BWT (task 0 has no R[T][0])');
  close(m.forgetting, 0.8 - 0.5, 'F');
  assert.deepEqual(taskMeasures([[null]]), { acc: null, bwt: null, forgetting: null });
  const one = taskMeasures([[0.7, null], [null, null]]);
  assert.deepEqual(one, { acc: 0.7, bwt: null, forgetting: null });
  // Best is the max over all l < T, not the diagonal: a task that improved after it was trained.
  const up = taskMeasures([[0.6, null, null], [0.9, 0.8, null], [0.7, 0.8, 0.9]]);
  close(up.forgetting, ((0.9 - 0.7) + (0.8 - 0.8)) / 2, 'F uses max_l');
  close(up.bwt, ((0.7 - 0.6) + 0) / 2, 'BWT uses the diagonal');
});

test('registry records R as it goes and round-trips through its namespace (embeddings too)', () => {
  const reg = new TaskRegistry();
  const emb = { dtype: 'F32' as const, shape: [3], data: bytes(Float32Array.of(1, 2, 3)) };
  reg.addTask({ id: 't0', classes: [0, 1], embedding: emb });
  reg.addTask({ id: 't1', classes: [2, 3] });
  reg.recordAccuracy('t0', 't0', 0.98);
  reg.recordAccuracy('t1', 't0', 0.6);
  reg.recordAccuracy('t1', 't1', 0.97);
  assert.deepEqual(reg.matrix(), [[0.98, null], [0.6, 0.97]]);
  const ns = reg.toNamespace();
  const back = TaskRegistry.fromNamespace({ tensors: ns.tensors ?? {}, ...(ns.record !== undefined ? { record: ns.record } : {}) });
  assert.deepEqual(back.matrix(), reg.matrix());
  assert.deepEqual(back.measures(), reg.measures());
  assert.deepEqual(back.tasks.map((t) => [t.id, t.classes]), [['t0', [0, 1]], ['t1', [2, 3]]]);
  assert.ok(Buffer.from(back.tasks[0]!.embedding!.data).equals(Buffer.from(emb.data)));
  assert.deepEqual(back.toNamespace().record, ns.record);
});

test('bad input: InvalidArgument; a bad or newer record: FormatError', () => {
  const reg = new TaskRegistry();
  reg.addTask({ id: 'a', classes: [0] });
  const inv = (e: unknown): boolean => isEngramError(e, 'InvalidArgument');
  const fmt = (e: unknown): boolean => isEngramError(e, 'FormatError');
  assert.throws(() => reg.addTask({ id: 'a', classes: [1] }), inv);
  assert.throws(() => reg.addTask({ id: 'b', classes: [-1] }), inv);
  assert.throws(() => reg.addTask({ id: 'b', classes: [1, 1] }), inv);
  assert.throws(() => reg.recordAccuracy('a', 'zz', 0.5), inv);
  assert.throws(() => reg.recordAccuracy('a', 'a', 1.5), inv);
  assert.throws(() => reg.recordAccuracy('a', 'a', Number.NaN), inv);
  const rec = reg.toNamespace().record as Record<string, unknown>;
  assert.throws(() => TaskRegistry.fromNamespace({ tensors: {}, record: { ...rec, version: 2 } }), (e: unknown) => fmt(e) && (e as { data: { reason: string } }).data.reason === 'newer version');
  assert.throws(() => TaskRegistry.fromNamespace({ tensors: {}, record: { ...rec, accuracy: [[2]] } }), fmt);
  assert.throws(() => TaskRegistry.fromNamespace({ tensors: {}, record: { ...rec, format: 'x' } }), fmt);
  assert.throws(() => TaskRegistry.fromNamespace({ tensors: {}, record: { ...rec, tasks: [{ id: 'a', classes: [0], embedding: { dtype: 'F32', shape: [2] } }] } }), fmt);
});
