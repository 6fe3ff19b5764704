/**
 * The save-time layout check that replaces the restore's whole-file SHA-256: a save compares each
 * file's layout with the file on disk before committing (a layout that does not rebuild the file,
 * or a file rewritten while it is saved, is an IntegrityMismatch with nothing committed) and marks
 * the file layoutVerified; a restore of such files stays byte-exact, still refuses a corrupted
 * chunk, and a file saved without its original keeps the whole-file check. Real fixture files.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isEngramError } from '../../src/errors/index.ts';
import { decodeFileTensor } from '../../src/formats/index.ts';
import { ingestDirectory, restoreSnapshotToDirectory } from '../../src/ops/index.ts';
import { Repository, type FileInput } from '../../src/repo/index.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
/** Safetensors (one 4 MiB file: several chunks) and NumPy files in C and Fortran order, big- and little-endian. */
const FILES = ['safetensors/large.safetensors', 'safetensors/dtypes.safetensors', 'numpy/f32_F.npy', 'numpy/i64_C.npy', 'numpy/stored.npz', 'numpy/deflated.npz'];

async function fixtureDir(): Promise<{ work: string; src: string; repo: Repository }> {
  const work = await mkdtemp(join(tmpdir(), 'engram-layout-'));
  const src = join(work, 'src');
  await mkdir(src);
  for (const f of FILES) await copyFile(join(FIXTURES, f), join(src, f.split('/')[1]!));
  await (await Repository.init(join(work, 'repo'))).close();
  return { work, src, repo: await Repository.open(join(work, 'repo'), { fileTensors: decodeFileTensor }) };
}

async function treeBytes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of (await readdir(dir)).sort()) out.set(n, createHash('sha256').update(await readFile(join(dir, n))).digest('hex'));
  return out;
}

test('a saved directory is marked layoutVerified and restores byte for byte', async () => {
  const { work, src, repo } = await fixtureDir();
  try {
    const { snapshot } = await ingestDirectory(repo, src, { run: 'r' });
    assert.deepEqual(snapshot.files.map((f) => [f.path, f.layoutVerified]), [...FILES.map((f) => f.split('/')[1]!)].sort().map((p) => [p, true]));
    const out = join(work, 'out');
    await restoreSnapshotToDirectory(snapshot, out);
    assert.deepEqual(await treeBytes(out), await treeBytes(src));
  } finally {
    await repo.close();
  }
});

test('a file rewritten while it is saved is refused at save time, nothing committed', async () => {
  const { src, repo } = await fixtureDir();
  try {
    const victim = join(src, 'large.safetensors');
    let grown = false;
    await assert.rejects(
      ingestDirectory(repo, src, {
        run: 'r',
        // The last `reading` event: every file has been parsed and hashed, the save has not started.
        onProgress: (e) => {
          if (e.phase === 'reading' && 'filesDone' in e && e.filesDone === e.filesTotal && !grown) {
            grown = true;
            appendFileSync(victim, new Uint8Array(8));
          }
        },
      }),
      (e) => isEngramError(e, 'IntegrityMismatch') && e.message.includes('large.safetensors') && e.message.includes('changed while it was being saved'),
    );
    assert.ok(grown);
    assert.deepEqual(await repo.snapshotIds(), []);
  } finally {
    await repo.close();
  }
});

/** A real file on disk as `FileInput`: header literal, then a tensor, with `original` reading the file. */
async function headerAndTensor(work: string): Promise<{ input: FileInput; file: Uint8Array }> {
  const header = new TextEncoder().encode('HEADER--');
  const values = new Uint8Array(64).map((_, i) => i * 3 + 1);
  const file = new Uint8Array([...header, ...values]);
  const path = join(work, 'm.bin');
  await writeFile(path, file);
  const bytes = await readFile(path);
  return {
    file,
    input: {
      path: 'm.bin', format: 'test', size: file.byteLength, sha256: createHash('sha256').update(file).digest('hex'),
      literal: header, segments: [{ kind: 'literal', offset: 0, length: 8 }, { kind: 'tensor', tensor: 'w', offset: 0, length: 64 }],
      tensors: [{ name: 'w', dtype: 'U8', shape: [64], byteLength: 64, load: async () => values }],
      original: async (offset, into) => {
        const part = bytes.subarray(offset, offset + into.byteLength);
        into.set(part);
        return part.byteLength;
      },
    },
  };
}

test('a layout that does not rebuild its original is refused at save time, nothing committed', async () => {
  const { work, repo } = await fixtureDir();
  try {
    const { input } = await headerAndTensor(work);
    // The reader got the tensor's bytes wrong (one byte off): the file on disk says otherwise.
    const wrong = new Uint8Array(64).map((_, i) => i * 3 + 1);
    wrong[10]! ^= 0xff;
    const tensors = [{ ...input.tensors[0]!, load: async () => wrong }];
    await assert.rejects(repo.save({ run: 'r', files: [{ ...input, tensors }] }),
      (e) => isEngramError(e, 'IntegrityMismatch') && e.message.includes('m.bin') && e.message.includes('tensor m.bin:w') && e.message.includes('nothing was committed'));
    // Segments that do not cover the file: refused before any chunk is written.
    await assert.rejects(repo.save({ run: 'r', files: [{ ...input, segments: input.segments.slice(0, 1) }] }),
      (e) => isEngramError(e, 'IntegrityMismatch') && e.message.includes('cover 8 bytes'));
    assert.deepEqual(await repo.snapshotIds(), []);
  } finally {
    await repo.close();
  }
});

test('a file saved without its original keeps the whole-file SHA-256 check on restore', async () => {
  const { work, repo } = await fixtureDir();
  try {
    const { input } = await headerAndTensor(work);
    const wrong = new Uint8Array(64).map((_, i) => i * 3 + 1);
    wrong[10]! ^= 0xff;
    const { original: _, ...withoutOriginal } = input;
    const snap = await repo.save({ run: 'r', files: [{ ...withoutOriginal, tensors: [{ ...input.tensors[0]!, load: async () => wrong }] }] });
    assert.equal(snap.files[0]!.layoutVerified, undefined);
    await assert.rejects(restoreSnapshotToDirectory(snap, join(work, 'out')), (e) => isEngramError(e, 'IntegrityMismatch') && e.message.includes('SHA-256'));
    assert.deepEqual(await readdir(work).then((l) => l.filter((n) => n.startsWith('out'))), []);
  } finally {
    await repo.close();
  }
});

test('a corrupted chunk under a verified file is an IntegrityMismatch on restore, and nothing is left behind', async () => {
  const { work, src, repo } = await fixtureDir();
  try {
    const { snapshot } = await ingestDirectory(repo, src, { run: 'r' });
    const seg = snapshot.files.find((f) => f.path === 'large.safetensors')!.segments.find((s) => s.kind === 'tensor')!;
    const victim = snapshot.manifest.tensors[seg.kind === 'tensor' ? seg.tensor : '']!.chunks.at(-1)!.hash;
    const object = join(work, 'repo', 'chunks', victim.slice(0, 2), victim);
    const bytes = await readFile(object);
    bytes[bytes.byteLength - 1]! ^= 0x40;
    await writeFile(object, bytes);
    const reopened = await Repository.open(join(work, 'repo'), { fileTensors: decodeFileTensor });
    try {
      const out = join(work, 'out');
      await assert.rejects(restoreSnapshotToDirectory(await reopened.snapshot(snapshot.id), out), (e) => isEngramError(e, 'IntegrityMismatch') && e.message.includes(victim));
      assert.deepEqual(await readdir(work).then((l) => l.filter((n) => n.startsWith('out') || n.startsWith('.out'))), []);
    } finally {
      await reopened.close();
    }
  } finally {
    await repo.close();
  }
});

test('the save takes a file\'s SHA-256 from its original, whatever order its tensors load in', async () => {
  const { work, repo } = await fixtureDir();
  try {
    const head = new TextEncoder().encode('HDR!');
    const a = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
    const b = new Uint8Array(4096).map((_, i) => (i * 13 + 5) & 0xff);
    const tail = new TextEncoder().encode('END');
    const file = new Uint8Array([...head, ...a, ...b, ...tail]);
    const path = join(work, 'two.bin');
    await writeFile(path, file);
    const onDisk = await readFile(path);
    const sha = createHash('sha256').update(file).digest('hex');
    const input: FileInput = {
      path: 'two.bin', format: 'test', size: file.byteLength, literal: new Uint8Array([...head, ...tail]),
      segments: [{ kind: 'literal', offset: 0, length: 4 }, { kind: 'tensor', tensor: 'a', offset: 0, length: 4096 }, { kind: 'tensor', tensor: 'b', offset: 0, length: 4096 }, { kind: 'literal', offset: 4, length: 3 }],
      tensors: [],
      original: async (offset, into) => {
        const part = onDisk.subarray(offset, offset + into.byteLength);
        into.set(part);
        return part.byteLength;
      },
    };
    const ta = { name: 'a', dtype: 'U8' as const, shape: [4096], byteLength: 4096, load: async () => a };
    const tb = { name: 'b', dtype: 'U8' as const, shape: [4096], byteLength: 4096, load: async () => b };
    // In file order, and the other way round (the hash then needs a pass of its own).
    for (const [run, tensors] of [['in-order', [ta, tb]], ['reversed', [tb, ta]]] as const) {
      const snap = await repo.save({ run, files: [{ ...input, tensors }] });
      assert.equal(snap.files[0]!.sha256, sha, run);
      assert.equal(snap.files[0]!.layoutVerified, true, run);
    }
    // A SHA-256 given with the original must agree with it.
    await assert.rejects(repo.save({ run: 'given', files: [{ ...input, tensors: [ta, tb], sha256: '0'.repeat(64) }] }),
      (e) => isEngramError(e, 'IntegrityMismatch') && e.message.includes(sha));
    assert.equal((await repo.snapshotIds()).length, 2);
  } finally {
    await repo.close();
  }
});
