/**
 * The CLI path's faster plumbing keeps its guarantees (issue 12): a file's SHA-256 taken on the
 * hashing thread equals node:crypto's over the same real bytes; the queued layout check still
 * refuses a layout that does not rebuild its file and a SHA-256 that disagrees with the original;
 * a restore hands pieces in reused memory only to a sink that consumes them, so a sink that keeps
 * its pieces still gets the file; a file written in many flushes comes back byte for byte; a
 * file's tensors read ahead keep their own bytes and errors.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isEngramError } from '../../src/errors/index.ts';
import { openFileSource, readTensorFile } from '../../src/formats/index.ts';
import { readFileLayout } from '../../src/ops/build-file-input.ts';
import { readAheadTensors } from '../../src/ops/read-ahead-tensors.ts';
import { fileVersion, originalBytes } from '../../src/ops/original-bytes.ts';
import { ingestDirectory, restoreSnapshot } from '../../src/ops/index.ts';
import { fileTensorName, Repository, writeFileAtomic, type FileInput } from '../../src/repo/index.ts';
import { LayoutCheck } from '../../src/repo/layout-check.ts';
import { streamHash } from '../../src/repo/stream-hash.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const LARGE = join(FIXTURES, 'safetensors/large.safetensors');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Real bytes: the 4.4 MB safetensors fixture, then an .npy and an .npz fixture. */
async function realBytes(): Promise<Uint8Array> {
  const parts = await Promise.all([LARGE, join(FIXTURES, 'numpy/f32_F.npy'), join(FIXTURES, 'numpy/deflated.npz')].map((p) => readFile(p)));
  return new Uint8Array(Buffer.concat(parts));
}

test('a SHA-256 taken on the hashing thread equals node:crypto\'s, in any pieces, streams interleaved', async () => {
  const bytes = await realBytes();
  const want = sha(bytes);
  // Pieces of odd sizes: empty, 1 byte, under and over the thread's 4 MiB buffers.
  const cuts = [0, 0, 1, 7, 65_537, (4 << 20) + 3, bytes.byteLength];
  const a = streamHash(true);
  const b = streamHash(true);
  const inline = streamHash(false);
  const bWant = createHash('sha256');
  for (let i = 1; i < cuts.length; i++) {
    const piece = bytes.subarray(Math.min(cuts[i - 1]!, bytes.byteLength), Math.min(cuts[i]!, bytes.byteLength));
    await a.update(piece);
    // The other stream gets the bytes reversed piece by piece: its digest must not mix with a's.
    const flipped = piece.slice().reverse();
    await b.update(flipped);
    bWant.update(flipped);
    await inline.update(piece);
  }
  assert.equal(await a.digest(), want);
  assert.equal(await b.digest(), bWant.digest('hex'));
  assert.equal(await inline.digest(), want);
  // A stream given nothing: the empty input's digest.
  assert.equal(await streamHash(true).digest(), sha(new Uint8Array(0)));
});

/** The real fixture as an ingest hands it to the save: its layout and its original bytes. */
async function largeInput(dir: string): Promise<{ input: FileInput; close: () => Promise<void> }> {
  const path = join(dir, 'large.safetensors');
  await copyFile(LARGE, path);
  const version = await fileVersion(path);
  const src = await openFileSource(path, path);
  const layout = await readFileLayout({ abs: path, rel: 'large.safetensors' }, src);
  const original = await originalBytes(path, version);
  return {
    input: { ...layout, original: (offset, into) => original.read(offset, into) },
    close: async () => {
      await src.close();
      await original.close();
    },
  };
}

test('the queued layout check, hashing on its thread, gives the file\'s SHA-256 and still refuses what does not match', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'engram-paths-'));
  const { input, close } = await largeInput(dir);
  try {
    const want = sha(await readFile(LARGE));
    const nameOf = (f: FileInput, t: string): string => fileTensorName(f.path, t);
    const run = async (file: FileInput, alter?: (b: Uint8Array) => Uint8Array): Promise<string> => {
      const check = new LayoutCheck([file], nameOf, { threadedHashFrom: 0 });
      await check.literals(file);
      for (const t of file.tensors) {
        const bytes = await t.load();
        await check.tensor(nameOf(file, t.name), t.dtype, t.shape, alter ? alter(bytes) : bytes);
      }
      const verdict = await check.finish(file);
      assert.equal(verdict.verified, true);
      return verdict.sha256;
    };
    assert.equal(await run(input), want);
    // A reader that got one byte of the tensor wrong: the queued compare's failure surfaces.
    await assert.rejects(run(input, (b) => {
      const wrong = b.slice();
      wrong[12_345]! ^= 0x01;
      return wrong;
    }), (e) => isEngramError(e, 'IntegrityMismatch') && e.message.includes('tensor large.safetensors:layer.weight') && e.message.includes('nothing was committed'));
    // A SHA-256 given with the original that is not the file's.
    await assert.rejects(run({ ...input, sha256: sha(new Uint8Array(1)) }), (e) => isEngramError(e, 'IntegrityMismatch') && e.message.includes(want));
  } finally {
    await close();
  }
});

test('a sink that keeps its pieces gets intact ones; a directory restore (pieces in reused memory) is byte-exact', async () => {
  const work = await mkdtemp(join(tmpdir(), 'engram-paths-'));
  const src = join(work, 'src');
  await mkdir(src);
  await copyFile(LARGE, join(src, 'large.safetensors'));
  // Small chunks: the file spans dozens of them, so reused memory would show in kept pieces.
  await (await Repository.init(join(work, 'repo'), { chunkSize: 160 * 1024 })).close();
  const repo = await Repository.open(join(work, 'repo'));
  try {
    const { snapshot } = await ingestDirectory(repo, src, { run: 'r' });
    const kept: Uint8Array[] = [];
    await restoreSnapshot(snapshot, {
      async write(_path, pieces) {
        for await (const p of pieces) kept.push(p);
      },
    });
    const want = await readFile(LARGE);
    assert.ok(kept.length > 20, `${kept.length} pieces`);
    assert.equal(sha(Buffer.concat(kept)), sha(want));
    const consumed: Uint8Array[] = [];
    await restoreSnapshot(snapshot, {
      consumesPieces: true,
      async write(_path, pieces) {
        for await (const p of pieces) consumed.push(p.slice());
      },
    });
    assert.equal(sha(Buffer.concat(consumed)), sha(want));
  } finally {
    await repo.close();
  }
});

test('a file written through many background flushes comes back byte for byte', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'engram-paths-'));
  const bytes = await realBytes();
  // 80 MiB or so, past two 32 MiB flush points, in pieces large and small.
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < 16; i++) pieces.push(bytes, bytes.subarray(0, 100 + i));
  const path = join(dir, 'out.bin');
  const size = await writeFileAtomic(path, pieces);
  const back = await readFile(path);
  assert.equal(size, back.byteLength);
  assert.equal(sha(back), sha(Buffer.concat(pieces)));
});

test('reading a file\'s tensors ahead gives each its own bytes, starts the next read, and keeps errors for the load that asks', async () => {
  const src = await openFileSource(join(FIXTURES, 'safetensors/dtypes.safetensors'));
  try {
    const { tensors } = await readTensorFile(src);
    assert.ok(tensors.length >= 3);
    const started: string[] = [];
    const counted = tensors.map((t, i) => ({
      ...t,
      load: async () => {
        started.push(t.name);
        if (i === 2) throw new Error('third tensor unreadable');
        return t.load();
      },
    }));
    const ahead = readAheadTensors(counted);
    assert.deepEqual(await ahead[0]!.load(), await tensors[0]!.load());
    // The second tensor's read started with the first's load.
    assert.deepEqual(started, [tensors[0]!.name, tensors[1]!.name]);
    assert.deepEqual(await ahead[1]!.load(), await tensors[1]!.load());
    // The third one's read failed ahead of time: its own load() reports it, nothing else did.
    await assert.rejects(ahead[2]!.load(), /third tensor unreadable/);
    // Too large to read ahead: nothing starts early.
    started.length = 0;
    await readAheadTensors(counted, 0)[0]!.load();
    assert.deepEqual(started, [tensors[0]!.name]);
  } finally {
    await src.close();
  }
});

test('a tensor loaded from its own file where the layout puts it is not read a second time; one placed elsewhere still is, and refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'engram-paths-'));
  const { input, close } = await largeInput(dir);
  try {
    const seg = input.segments.find((s) => s.kind === 'tensor')!;
    const at = input.segments.slice(0, input.segments.indexOf(seg)).reduce((n, s) => n + s.length, 0);
    const t = input.tensors[0]!;
    const bytes = await readFile(LARGE);
    const nameOf = (f: FileInput, n: string): string => fileTensorName(f.path, n);
    /** Checks `file` with `original` counting the bytes it reads; resolves to them, or rejects. */
    const check = async (readAt: number): Promise<number> => {
      let read = 0;
      const file: FileInput = {
        ...input,
        tensors: [{ ...t, readAt, load: async () => bytes.subarray(readAt, readAt + t.byteLength) }],
        original: async (offset, into) => {
          read += into.byteLength;
          return input.original!(offset, into);
        },
      };
      const c = new LayoutCheck([file], nameOf);
      await c.literals(file);
      await c.tensor(nameOf(file, t.name), t.dtype, t.shape, await file.tensors[0]!.load());
      assert.equal((await c.finish(file)).sha256, sha(bytes));
      return read;
    };
    // Where the layout puts it: only the header literal is read back.
    assert.equal(await check(at), at);
    // Said to come from 4 bytes further on: compared with the original, which disagrees.
    await assert.rejects(check(at + 4), (e) => isEngramError(e, 'IntegrityMismatch') && e.message.includes(`tensor large.safetensors:${t.name}`));
  } finally {
    await close();
  }
});
