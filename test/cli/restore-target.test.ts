/**
 * `engram restore REF DIR` builds the tree beside DIR and renames it into place: a non-empty DIR is
 * refused unless --force, --force replaces it by exactly the snapshot's files, and a restore that
 * fails (a full tmpfs, made here) leaves DIR as it was and no temporary tree behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES, hashTree, runCli, tempDir } from '../helpers/cli.ts';

const CONFLICT = 6;
const IO_ERROR = 9;

describe('engram restore into an existing directory', () => {
  let work: string;
  let repo: string;
  let small: string | undefined;

  before(async () => {
    work = await tempDir();
    repo = join(work, 'repo');
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    assert.equal((await runCli(['save', join(FIXTURES, 'numpy'), '--repo', repo, '--run', 'np', '--step', '1'])).code, 0);
    const big = await runCli(['save', join(FIXTURES, 'safetensors', 'large.safetensors'), '--repo', repo, '--run', 'big', '--step', '1']);
    assert.equal(big.code, 0, big.stderr);
  });

  after(() => {
    if (small) execFileSync('umount', [small]);
  });

  test('a non-empty directory is refused and left untouched', async () => {
    const out = join(work, 'busy');
    await mkdir(out);
    await writeFile(join(out, 'bool_C.npy'), 'mine');
    const r = await runCli(['restore', 'np@1', out, '--repo', repo]);
    assert.equal(r.code, CONFLICT, r.stderr);
    assert.match(r.stderr, /is not empty/);
    assert.match(r.stderr, /--force/);
    assert.deepEqual(await readdir(out), ['bool_C.npy']);
    assert.equal(await readFile(join(out, 'bool_C.npy'), 'utf8'), 'mine');
    assert.deepEqual((await readdir(work)).sort(), ['busy', 'repo'], 'no temporary tree');
  });

  test('an empty directory is filled, and --force replaces a full one by exactly the snapshot', async () => {
    const out = join(work, 'forced');
    await mkdir(out);
    const first = await runCli(['restore', 'np@1', out, '--repo', repo]);
    assert.equal(first.code, 0, first.stderr);
    const want = await hashTree(join(FIXTURES, 'numpy'));
    assert.deepEqual(await hashTree(out), want);
    await writeFile(join(out, 'stale.txt'), 'left from before');
    await writeFile(join(out, 'bool_C.npy'), 'overwritten');
    const forced = await runCli(['restore', 'np@1', out, '--repo', repo, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(await hashTree(out), want);
    assert.ok(!(await readdir(work)).some((n) => n.includes('.engram-')), 'no temporary tree');
  });

  test('a restore that fails leaves the target as it was, with --force too', async () => {
    small = join(work, 'small');
    await mkdir(small);
    // 1 MiB: room for the old content, not for the 4.2 MiB tensor file being restored.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    const fresh = await runCli(['restore', 'big@1', join(small, 'new'), '--repo', repo]);
    assert.equal(fresh.code, IO_ERROR, fresh.stderr);
    assert.deepEqual(await readdir(small), [], 'no partial tree');

    const out = join(small, 'old');
    const before = await runCli(['restore', 'np@1', out, '--repo', repo]);
    assert.equal(before.code, 0, before.stderr);
    const old = await hashTree(out);
    const forced = await runCli(['restore', 'big@1', out, '--repo', repo, '--force']);
    assert.equal(forced.code, IO_ERROR, forced.stderr);
    assert.match(forced.stderr, /ENOSPC/);
    assert.deepEqual(await hashTree(out), old, 'the old tree is intact');
    assert.deepEqual(await readdir(small), ['old'], 'no temporary tree');
  });
});
