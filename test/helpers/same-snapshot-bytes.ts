/**
 * @module assertSameSnapshotBytes: two snapshots hold the same tensors (names, dtypes, shapes,
 * bytes) and the same blobs, byte for byte — the check every resume-after-SIGKILL test ends with.
 */
import assert from 'node:assert/strict';
import type { Snapshot } from '../../src/repo/index.ts';

/** Asserts that `b` holds exactly `a`'s tensors and blobs; `label` prefixes every failure. */
export async function assertSameSnapshotBytes(a: Snapshot, b: Snapshot, label: string): Promise<void> {
  assert.deepEqual(b.tensorNames(), a.tensorNames(), label);
  for (const name of a.tensorNames()) {
    const [x, y] = [await a.tensor(name), await b.tensor(name)];
    assert.equal(y.dtype, x.dtype, `${label}: ${name}`);
    assert.deepEqual(y.shape, x.shape, `${label}: ${name}`);
    assert.ok(Buffer.from(x.data).equals(Buffer.from(y.data)), `${label}: tensor ${name} differs`);
  }
  assert.deepEqual(b.blobNames().sort(), a.blobNames().sort(), label);
  for (const name of a.blobNames()) assert.ok(Buffer.from(await a.blob(name)).equals(Buffer.from(await b.blob(name))), `${label}: blob ${name} differs`);
}
