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

test('FsStore delete removes the sub-directories it empties, keeps top-level ones, and puts make them again', async () => {
  for (const io of ['async', 'sync'] as const) {
    const s = new FsStore(await mkdtemp(join(tmpdir(), 'engram-fs-rmdir-')), { io });
    try {
      await s.put('staging/save-1/intent.json', new Uint8Array(3));
      await s.put('staging/save-1/beat-1.json', new Uint8Array(3));
      await s.put('staging/run@7/rank-0/part.json', new Uint8Array(3));
      await s.put('snapshots/one.json', new Uint8Array(3));
      await s.delete('staging/save-1/intent.json');
      assert.deepEqual((await readdir(join(s.root, 'staging'))).sort(), ['run@7', 'save-1'], `${io}: a directory still holding a key stays`);
      await s.delete('staging/save-1/beat-1.json');
      await s.delete('staging/run@7/rank-0/part.json');
      assert.deepEqual(await readdir(join(s.root, 'staging')), [], `${io}: emptied directories go, nested ones too`);
      await s.delete('snapshots/one.json');
      assert.deepEqual((await readdir(s.root)).sort(), ['snapshots', 'staging'], `${io}: top-level directories stay`);
      // A directory removed under a writer is made again.
      assert.equal(await s.put('staging/save-1/intent.json', new Uint8Array([1, 2])), true);
      assert.deepEqual(await s.get('staging/save-1/intent.json'), new Uint8Array([1, 2]));
      // Deleting a key that does not exist is still not an error.
      await s.delete('staging/nothing/here.json');
    } finally {
      await rm(s.root, { recursive: true, force: true });
    }
  }
});

test('FsStore puts and deletes racing in one directory lose no object', async () => {
  const s = await tempStore();
  try {
    // Writers keep putting into chunks/ab/ while a deleter keeps emptying it: every put that
    // resolved must be readable until it is deleted, whatever the directory went through.
    for (let round = 0; round < 50; round++) {
      const keys = Array.from({ length: 8 }, (_, i) => `chunks/ab/k${round}-${i}`);
      await Promise.all([
        ...keys.map((k, i) => s.put(k, new Uint8Array([round, i]))),
        s.delete(`chunks/ab/k${round - 1}-0`),
        s.delete(`chunks/ab/k${round - 1}-1`),
      ]);
      for (const [i, k] of keys.entries()) assert.deepEqual(await s.get(k), new Uint8Array([round, i]), k);
      await Promise.all(keys.map((k) => s.delete(k)));
    }
    assert.deepEqual(await readdir(join(s.root, 'chunks')), []);
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
});
