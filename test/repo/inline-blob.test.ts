import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { decodeManifest, encodeManifest, INLINE_BLOB_MAX, manifestKey } from '../../src/repo/manifest.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { CountingStore } from '../helpers/counting-store.ts';

test('small blobs live in the manifest (version 3, no chunk object), larger ones in chunks; both read back exactly', async () => {
  const store = new CountingStore(new MemoryStore());
  const repo = await Repository.init('memory://', { store });
  const small = new TextEncoder().encode(JSON.stringify({ step: 7, rng: [1, 2, 3, 4] }));
  const large = Uint8Array.from({ length: INLINE_BLOB_MAX + 1 }, (_, i) => (i * 31) & 0xff);
  const before = store.puts.length;
  const snap = await repo.save({ run: 'r', step: 1, blobs: { small, large, empty: new Uint8Array(0) } });
  const m = snap.manifest;
  assert.equal(m.version, 3);
  assert.equal(m.blobs['small']!.chunks.length, 0);
  assert.equal(typeof m.blobs['small']!.inline, 'string');
  assert.equal(m.blobs['large']!.inline, undefined);
  assert.ok(m.blobs['large']!.chunks.length > 0);
  // Objects written: the large blob's chunk(s) and the manifest, nothing for the small one.
  const chunkPuts = store.puts.slice(before).filter((k) => k.startsWith('chunks/'));
  assert.equal(chunkPuts.length, new Set(m.blobs['large']!.chunks.map((c) => c.hash)).size);

  const fresh = await Repository.open('memory://', { store });
  const again = await fresh.snapshot(snap.id);
  assert.deepEqual(await again.blob('small'), small);
  assert.deepEqual(await again.blob('large'), large);
  assert.deepEqual(await again.blob('empty'), new Uint8Array(0));
  assert.equal((await fresh.verify()).ok, true);

  // A snapshot with no small blob stays version 1, readable by builds that predate inline blobs.
  const plain = await repo.save({ run: 'r', step: 2, blobs: { large } });
  assert.equal(plain.manifest.version, 1);
});

test('an inline blob that does not match its length, or in an older manifest version, is refused', async () => {
  const repo = await Repository.init('memory://', { store: new MemoryStore() });
  const snap = await repo.save({ run: 'r', step: 1, blobs: { b: Uint8Array.from([1, 2, 3, 4, 5]) } });
  const m = snap.manifest;
  const refused = (body: typeof m): boolean => {
    try {
      decodeManifest(m.id, encodeManifest(body));
      return false;
    } catch (e) {
      return isEngramError(e);
    }
  };
  assert.equal(refused(m), false);
  assert.equal(refused({ ...m, blobs: { b: { ...m.blobs['b']!, byteLength: 6 } } }), true);
  assert.equal(refused({ ...m, blobs: { b: { ...m.blobs['b']!, inline: 'AQID!!==' } } }), true);
  assert.equal(refused({ ...m, version: 2 }), true);
  assert.ok(manifestKey(m.id).startsWith('snapshots/'));
});
