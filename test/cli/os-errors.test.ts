/**
 * OS errors while writing output: restore, get and export into a path under a file (ENOTDIR), a
 * directory the user may not write (EACCES: the CLI runs as `nobody`, since root ignores mode
 * bits), a read-only mount (EROFS) and a full file system (ENOSPC, a small tmpfs made here) exit
 * with IOError's status and one line naming the path — never `internal error` and a stack trace.
 * Needs root (mount, setuid), as the rest of test/cli does for its fault suites.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, collectOutput, FIXTURES, runCli, tempDir, type CliResult } from '../helpers/cli.ts';

const IO_ERROR = 9;
const NOBODY = 65534;

/** Runs the CLI as user and group `nobody`. */
function runCliAsNobody(args: string[]): Promise<CliResult> {
  return collectOutput(spawn(process.execPath, [BIN, ...args], { uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** The commands that write output (one file, a tree, a directory model), each aimed at `target` (a directory or file path prefix). */
function writers(repo: string, target: string): string[][] {
  return [
    ['restore', 'big@1', join(target, 'restored'), '--repo', repo],
    ['get', 'big@1', 'large.safetensors:layer.weight', '-o', join(target, 'big.npy'), '--repo', repo],
    ['export', 'big@1', '--format', 'safetensors', '-o', join(target, 'all.safetensors'), '--repo', repo],
    ['export', 'big@1', '--format', 'tfjs', '--only', 'large.safetensors:', '-o', join(target, 'web_model'), '--repo', repo],
  ];
}

function assertIoError(r: CliResult, errno: string, path: string, hint: RegExp): void {
  assert.equal(r.code, IO_ERROR, `${r.code}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, r.stderr);
  const [message, hintLine, ...rest] = r.stderr.trimEnd().split('\n');
  assert.deepEqual(rest, [], r.stderr);
  assert.match(message!, new RegExp(`IOError: .*\\((${errno})( from \\w+)?\\)$`));
  assert.ok(message!.includes(path), `${message} names ${path}`);
  assert.match(hintLine!, hint);
}

describe('OS errors on output are typed IOError', () => {
  let work: string;
  let repo: string;
  const mounts: string[] = [];

  before(async () => {
    work = await tempDir();
    repo = join(work, 'repo');
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    const save = await runCli(['save', join(FIXTURES, 'safetensors', 'large.safetensors'), join(FIXTURES, 'numpy'), '--repo', repo, '--run', 'big', '--step', '1']);
    assert.equal(save.code, 0, save.stderr);
    const show = await runCli(['show', 'big@1', '--repo', repo, '--json']);
    assert.ok(Object.keys((JSON.parse(show.stdout) as { tensors: object }).tensors).includes('large.safetensors:layer.weight'), 'the fixture holds tensor layer.weight');
  });

  after(() => {
    for (const m of mounts) execFileSync('umount', [m]);
  });

  test('ENOTDIR: a path under a file', async () => {
    const file = join(work, 'a-file');
    await writeFile(file, 'not a directory');
    for (const args of writers(repo, join(file, 'sub'))) assertIoError(await runCli(args), 'ENOTDIR|EEXIST', file, /is a file, not a directory/);
    // --json: the error as data, with the path, the system call and the errno.
    const json = await runCli(['restore', 'big@1', join(file, 'sub'), '--repo', repo, '--json']);
    assert.equal(json.code, IO_ERROR);
    const { error } = JSON.parse(json.stderr) as { error: { code: string; data: { path: string; syscall: string; errno: string }; hint: string } };
    assert.equal(error.code, 'IOError');
    assert.ok(error.data.path.startsWith(file), error.data.path);
    assert.equal(typeof error.data.syscall, 'string');
    assert.equal(error.data.errno, 'ENOTDIR');
    assert.match(error.hint, /is a file/);
  });

  test('EACCES: a directory the user may not write', async () => {
    // nobody must reach the repository and the fixtures, but not write into `locked`.
    await chmod(work, 0o755);
    execFileSync('chmod', ['-R', 'a+rX', repo]);
    const locked = join(work, 'locked');
    await mkdir(locked, { mode: 0o555 });
    await chmod(locked, 0o555);
    for (const args of writers(repo, locked)) assertIoError(await runCliAsNobody(args), 'EACCES', locked, /permissions/);
    assert.deepEqual(await readdir(locked), []);
  });

  test('EROFS: a read-only mount', async () => {
    const ro = join(work, 'ro');
    await mkdir(ro);
    execFileSync('mount', ['--bind', ro, ro]);
    mounts.push(ro);
    execFileSync('mount', ['-o', 'remount,bind,ro', ro]);
    for (const args of writers(repo, ro)) assertIoError(await runCli(args), 'EROFS', ro, /read-only/);
  });

  test('ENOSPC: a full file system, which keeps no partial output', async () => {
    const small = join(work, 'small');
    await mkdir(small);
    // 1 MiB: less than the 4.2 MiB tensor every command writes.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    mounts.unshift(small);
    for (const args of writers(repo, small)) {
      assertIoError(await runCli(args), 'ENOSPC', small, /free space/);
      assert.deepEqual(await readdir(small), [], `${args[0]} left nothing behind`);
    }
  });
});
