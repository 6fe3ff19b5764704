/**
 * `engram save DIR` over symbolic links: a Hugging Face cache snapshot (`snapshots/<rev>/*` →
 * `../../blobs/<hash>`) saves every file and restores it exactly; a dangling link, a link loop and
 * a FIFO are refused with a typed error and nothing is committed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, lstat, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { FIXTURES, hashTree, runCli, tempDir } from '../helpers/cli.ts';

const INVALID_ARGUMENT = 2;
const NOT_FOUND = 3;

/** A directory laid out like the Hugging Face hub cache, its files real fixtures reached through links. */
async function hfCache(root: string): Promise<string> {
  const blobs = join(root, 'models--org--tiny', 'blobs');
  const snap = join(root, 'models--org--tiny', 'snapshots', '3f1c2e9a');
  await mkdir(blobs, { recursive: true });
  await mkdir(join(snap, 'onnx'), { recursive: true });
  const files: [string, string, string][] = [
    ['safetensors/dtypes.safetensors', '9b2f0c', 'model.safetensors'],
    ['numpy/f32_C.npy', '51aa7e', 'onnx/weights.npy'],
    ['safetensors/EXPECTED.json', 'c0ffee', 'config.json'],
  ];
  for (const [fixture, hash, rel] of files) {
    await copyFile(join(FIXTURES, fixture), join(blobs, hash));
    await symlink(`${rel.includes('/') ? '../' : ''}../../blobs/${hash}`, join(snap, rel));
  }
  return snap;
}

describe('engram save follows symbolic links', () => {
  let work: string;
  let repo: string;

  before(async () => {
    work = await tempDir();
    repo = join(work, 'repo');
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  });

  test('a Hugging Face cache snapshot saves every file and restores it byte for byte as regular files', async () => {
    const snap = await hfCache(join(work, 'hub'));
    const save = await runCli(['save', snap, '--repo', repo, '--run', 'hf', '--step', '1', '--json']);
    assert.equal(save.code, 0, save.stderr);
    assert.equal((JSON.parse(save.stdout) as { files: number }).files, 3);
    const out = join(work, 'restored');
    const restore = await runCli(['restore', 'hf@1', out, '--repo', repo]);
    assert.equal(restore.code, 0, restore.stderr);
    const want = await hashTree(snap);
    assert.deepEqual([...want.keys()], ['config.json', 'model.safetensors', 'onnx/weights.npy']);
    assert.deepEqual(await hashTree(out), want);
    for (const rel of want.keys()) assert.ok((await lstat(join(out, rel))).isFile(), `${rel} is restored as a regular file`);
  });

  /** Saves `dir` (one good file plus `bad`), expecting `exit` and a message naming `bad`; nothing committed. */
  async function refused(name: string, exit: number, make: (bad: string) => Promise<void>, message: RegExp): Promise<void> {
    const dir = join(work, name);
    await mkdir(dir, { recursive: true });
    await copyFile(join(FIXTURES, 'numpy', 'f32_C.npy'), join(dir, 'good.npy'));
    const bad = join(dir, 'bad');
    await make(bad);
    const save = await runCli(['save', dir, '--repo', repo, '--run', name, '--step', '1']);
    assert.equal(save.code, exit, `${save.code}\n${save.stdout}\n${save.stderr}`);
    assert.match(save.stderr, message);
    assert.ok(save.stderr.includes(bad), save.stderr);
    assert.doesNotMatch(save.stderr, /internal error|\n\s+at /);
    const log = await runCli(['log', name, '--repo', repo, '--json']);
    assert.equal(log.code, 0, log.stderr);
    assert.deepEqual(JSON.parse(log.stdout), [], 'nothing was committed');
  }

  test('a dangling link is refused as NotFound', () =>
    refused('dangling', NOT_FOUND, (bad) => symlink('../blobs/gone', bad), /NotFound: .*symbolic link to \.\.\/blobs\/gone, which does not exist/));

  test('a link that points at itself is refused', () =>
    refused('self-loop', INVALID_ARGUMENT, (bad) => symlink('bad', bad), /InvalidArgument: .*loop of symbolic links/));

  test('a link to a directory that contains it is refused', () =>
    refused('dir-loop', INVALID_ARGUMENT, (bad) => symlink('.', bad), /InvalidArgument: .*leads back into a directory that contains it/));

  test('a FIFO is refused', () =>
    refused('fifo', INVALID_ARGUMENT, async (bad) => void execFileSync('mkfifo', [bad]), /InvalidArgument: .*is a FIFO/));

  test('a directory that holds no file is refused, not saved as 0 files', async () => {
    const dir = join(work, 'empty-input');
    await mkdir(join(dir, 'sub'), { recursive: true });
    const save = await runCli(['save', dir, '--repo', repo, '--run', 'empty', '--step', '1']);
    assert.equal(save.code, INVALID_ARGUMENT, save.stderr);
    assert.match(save.stderr, /nothing to save: .* holds no files/);
  });
});
