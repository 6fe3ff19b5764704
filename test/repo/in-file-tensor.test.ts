/**
 * Tensors held inside a saved file (`TensorEntry.inFile`, manifest version 4): written only when a
 * snapshot has one, decoded through the decoder the repository is opened with and checked against
 * the SHA-256 taken at save, refused in older manifest versions or when malformed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { Repository, type FileTensorDecoder } from '../../src/repo/index.ts';
import { decodeManifest, encodeManifest } from '../../src/repo/manifest.ts';
import { MemoryStore } from '../../src/store/index.ts';

// A "file" whose one tensor is its bytes reversed: an encoding only the decoder below knows.
const values = Uint8Array.from({ length: 64 }, (_, i) => (i * 7) & 0xff);
const fileBytes = values.slice().reverse();
const decoder: FileTensorDecoder = async (file, tensor) => {
  assert.equal(tensor, 'w');
  return file.bytes.slice().reverse();
};
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function saved(store: MemoryStore) {
  const repo = await Repository.init('memory://', { store });
  return repo.save({
    run: 'r', step: 1,
    files: [{
      path: 'f.bin', format: 'test', size: fileBytes.byteLength, sha256: sha(fileBytes), literal: fileBytes,
      segments: [{ kind: 'literal', offset: 0, length: fileBytes.byteLength }],
      tensors: [{ name: 'w', dtype: 'U8', shape: [64], byteLength: 64, load: async () => values, literalOnly: 'encoded in the file' }],
    }],
  });
}

test('a literal-only file tensor is held in the file (version 4, no chunks) and decoded and checked on load', async () => {
  const store = new MemoryStore();
  const snap = await saved(store);
  const m = snap.manifest;
  assert.equal(m.version, 4);
  assert.deepEqual(m.tensors['f.bin:w'], { dtype: 'U8', shape: [64], byteLength: 64, chunks: [], inFile: { path: 'f.bin', sha256: sha(values) } });
  // The file's bytes are the only chunk bytes: the tensor is not stored again.
  assert.equal(Object.values(m.chunks).reduce((n, c) => n + c.size, 0), fileBytes.byteLength);

  const repo = await Repository.open('memory://', { store, fileTensors: decoder });
  assert.deepEqual((await (await repo.snapshot(snap.id)).tensor('w')).data, values);
  const into = new Uint8Array(64);
  await (await repo.snapshot(snap.id)).tensor('f.bin:w', { into });
  assert.deepEqual(into, values);

  const bare = await Repository.open('memory://', { store });
  await assert.rejects((await bare.snapshot(snap.id)).tensor('w'), (e: unknown) => isEngramError(e, 'Unsupported') && e.message.includes('f.bin'));
  const wrong = await Repository.open('memory://', { store, fileTensors: async (f) => f.bytes });
  await assert.rejects((await wrong.snapshot(snap.id)).tensor('w'), (e: unknown) => isEngramError(e, 'IntegrityMismatch'));
});

test('an inFile record in an older manifest version, naming no file, or with chunks, is IntegrityMismatch', async () => {
  const snap = await saved(new MemoryStore());
  const m = snap.manifest;
  const t = m.tensors['f.bin:w']!;
  const variants = [
    { ...m, version: 3 as const },
    { ...m, tensors: { 'f.bin:w': { ...t, inFile: { path: 'other.bin', sha256: t.inFile!.sha256 } } } },
    { ...m, tensors: { 'f.bin:w': { ...t, inFile: { path: 'f.bin', sha256: 'xyz' } } } },
    { ...m, tensors: { 'f.bin:w': { ...t, byteLength: 65 } } },
  ];
  for (const v of variants) assert.throws(() => decodeManifest(m.id, encodeManifest(v)), (e: unknown) => isEngramError(e, 'IntegrityMismatch'));
  assert.deepEqual(decodeManifest(m.id, encodeManifest(m)).tensors['f.bin:w'], t);
});
