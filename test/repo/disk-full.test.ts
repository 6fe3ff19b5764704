/**
 * A full disk (issue 11): the repository lives on a small tmpfs that the test mounts itself (it
 * runs as root in CI; a failed mount fails the test). A save that runs out of space fails with
 * `IOError` and commits nothing, the repository still verifies and its snapshots restore exactly,
 * gc on the completely full disk still deletes (spending gc/reserve on its marker), and a restore
 * onto a full disk leaves no half-written file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { openFileSource, readTensorFile, writeSafetensors, type ByteSource } from '../../src/formats/index.ts';
import { Repository, restoreFiles, type FileInput } from '../../src/repo/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { gaussian } from '../helpers/weights.ts';

const mounts: string[] = [];
after(() => {
  for (const m of mounts) execFileSync('umount', [m]);
});

async function tmpfs(size: string): Promise<string> {
  const dir = await tempDir('engram-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const sources: ByteSource[] = [];
const inputDirs: string[] = [];
after(async () => {
  for (const src of sources) await src.close();
  for (const d of inputDirs) await rm(d, { recursive: true, force: true });
});

/** A safetensors file of `n` random F32 values (incompressible), written to disk and read as `engram save` reads it. */
async function fileInput(name: string, n: number, seed: number): Promise<{ input: FileInput; bytes: Uint8Array }> {
  const data = new Uint8Array(gaussian(n, seed).buffer);
  const bytes = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [n], data }]);
  const dir = await tempDir('engram-full-in-');
  inputDirs.push(dir);
  const path = join(dir, name);
  await writeFile(path, bytes);
  const src = await openFileSource(path, path);
  sources.push(src);
  const f = await readTensorFile(src);
  return { bytes, input: { path: name, format: f.format, size: f.size, sha256: sha(bytes), literal: f.literal, segments: f.segments, tensors: f.tensors } };
}

/** Appends to `path` until the file system refuses: afterwards not even a small file fits. */
async function fill(path: string): Promise<void> {
  for (const size of [1 << 20, 64 << 10, 4 << 10, 512]) {
    for (;;) {
      try {
        await appendFile(path, new Uint8Array(size));
      } catch (e) {
        assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
        break;
      }
    }
  }
}

async function restoresExactly(repo: Repository, ref: string, want: Uint8Array): Promise<void> {
  const out = await tempDir('engram-full-out-');
  const [path] = await restoreFiles(await repo.snapshot(ref), out);
  assert.equal(sha(await readFile(path!)), sha(want), `${ref} restores exactly`);
  await rm(out, { recursive: true, force: true });
}

test('out of space: save fails with IOError and commits nothing, gc still deletes on a full disk, repo stays intact', async () => {
  const disk = await tmpfs('3m');
  const repo = await Repository.init(join(disk, 'repo'), { chunkSize: 16 * 1024 });
  const a = await fileInput('a.safetensors', 128 * 1024, 1); // 512 KiB
  await repo.save({ run: 'r', step: 0, files: [a.input] });

  const big = await fileInput('b.safetensors', 1024 * 1024, 2); // 4 MiB: cannot fit
  await assert.rejects(repo.save({ run: 'r', step: 1, files: [big.input] }), (e) => isEngramError(e, 'IOError') && e.data.errno === 'ENOSPC');
  const fresh = await Repository.open(join(disk, 'repo'));
  assert.deepEqual((await fresh.log('r')).map((s) => s.step), [0], 'the failed save committed nothing');
  assert.equal((await fresh.verify()).ok, true);
  await restoresExactly(fresh, 'r@0', a.bytes);

  // Not one more byte fits; gc must still be able to delete the failed save's chunks.
  await fill(join(disk, 'filler'));
  const report = await fresh.gc({ graceMs: 0 });
  assert.equal(report.skipped, undefined, report.skipped?.message);
  assert.ok(report.swept > 0, 'the orphans of the failed save are gone');
  assert.ok((await readdir(join(disk, 'repo', 'gc'))).some((f) => f.endsWith('.done')), 'it wrote .done once it had made room');
  assert.equal((await fresh.verify()).ok, true);
  await restoresExactly(fresh, 'r@0', a.bytes);

  await rm(join(disk, 'filler'));
  const c = await fileInput('c.safetensors', 64 * 1024, 3);
  await fresh.save({ run: 'r', step: 2, files: [c.input] });
  await restoresExactly(fresh, 'r@2', c.bytes);
  assert.equal((await fresh.verify()).ok, true);
});

test('out of space while restoring: an error, and no half-written file in the target', async () => {
  const home = await tempDir('engram-full-repo-');
  const repo = await Repository.init(join(home, 'repo'));
  const small = await fileInput('small.safetensors', 16 * 1024, 4);
  const big = await fileInput('big.safetensors', 512 * 1024, 5); // 2 MiB
  await repo.save({ run: 'r', step: 0, files: [small.input, big.input] });
  const target = await tmpfs('1m');
  await mkdir(join(target, 'out'));
  await assert.rejects(restoreFiles(await repo.snapshot('r@0'), join(target, 'out')), (e) => (e as NodeJS.ErrnoException).code === 'ENOSPC' || (isEngramError(e, 'IOError') && e.data.errno === 'ENOSPC'));
  const left = await readdir(join(target, 'out'));
  assert.ok(left.every((f) => f === 'small.safetensors'), `only whole files are visible: ${left.join(', ')}`);
  if (left.length) assert.equal(sha(await readFile(join(target, 'out', 'small.safetensors'))), sha(small.bytes));
  await rm(home, { recursive: true, force: true });
});
