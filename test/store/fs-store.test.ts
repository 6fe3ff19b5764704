import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { FsStore, removeStaleTemps, type ObjectStore } from '../../src/store/index.ts';
import { runObjectStoreConformance } from './object-store.conformance.ts';

runObjectStoreConformance('fs', {
  create: async () => new FsStore(await mkdtemp(join(tmpdir(), 'engram-fs-'))),
  dispose: async (s: ObjectStore) => rm((s as FsStore).root, { recursive: true, force: true }),
});

// Without fsync (CheckpointManager's `fsync: false`) the contract is the same for every reader.
runObjectStoreConformance('fs (no fsync)', {
  create: async () => new FsStore(await mkdtemp(join(tmpdir(), 'engram-fs-nofsync-')), { fsync: false }),
  dispose: async (s: ObjectStore) => rm((s as FsStore).root, { recursive: true, force: true }),
});

// The blocking flavour (the commit thread's) keeps the same contract.
runObjectStoreConformance('fs (sync io)', {
  create: async () => new FsStore(await mkdtemp(join(tmpdir(), 'engram-fs-sync-')), { io: 'sync' }),
  dispose: async (s: ObjectStore) => rm((s as FsStore).root, { recursive: true, force: true }),
});

async function tempStore(): Promise<FsStore> {
  return new FsStore(await mkdtemp(join(tmpdir(), 'engram-fs-')));
}

test('FsStore refuses keys that could escape its root or name temp files', async () => {
  const s = await tempStore();
  try {
    for (const key of ['', '../x', 'a/../../x', 'a//b', './a', 'a\\b', '.tmp-123', 'a/.tmp-x', 'a\0b']) {
      await assert.rejects(s.put(key, new Uint8Array(1)), (e) => isEngramError(e, 'InvalidArgument'), key);
    }
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
});

test('FsStore leaves no temp files after puts, and list never shows temp files left by a crash', async () => {
  const s = await tempStore();
  try {
    await s.put('chunks/aa/x', new Uint8Array(10));
    await s.put('chunks/aa/x', new Uint8Array(10), { ifAbsent: true });
    assert.deepEqual(await readdir(join(s.root, 'chunks/aa')), ['x']);
    // What a put killed before its rename leaves behind:
    await writeFile(join(s.root, 'chunks/aa/.tmp-deadbeef'), 'partial');
    const listed: string[] = [];
    for await (const i of s.list('')) listed.push(i.key);
    assert.deepEqual(listed, ['chunks/aa/x']);
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
});

test('removeStaleTemps deletes only temp files older than the grace period', async () => {
  const s = await tempStore();
  try {
    await s.put('a/obj', new Uint8Array(1));
    const old = join(s.root, 'a/.tmp-old');
    const fresh = join(s.root, 'a/.tmp-fresh');
    await writeFile(old, 'x');
    await writeFile(fresh, 'y');
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(old, hourAgo, hourAgo);
    assert.equal(await removeStaleTemps(s.root, 60_000), 1);
    assert.deepEqual((await readdir(join(s.root, 'a'))).sort(), ['.tmp-fresh', 'obj']);
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
});

test('FsStore head of a key that is a directory is undefined, not an object', async () => {
  const s = await tempStore();
  try {
    await s.put('dir/file', new Uint8Array(1));
    assert.equal(await s.head('dir'), undefined);
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
});
