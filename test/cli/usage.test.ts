/**
 * What a git/restic user expects of the command line: `--version`, a top-level help that lists every
 * option of every command, negative numbers refused saying which range is allowed, hints that fit
 * the error, and "1 file" rather than "1 files".
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { FIXTURES, runCli, tempDir } from '../helpers/cli.ts';

const INVALID_ARGUMENT = 2;
const NOT_FOUND = 3;
const CONFLICT = 6;
const UNSUPPORTED = 8;

const COMMANDS = ['init', 'save', 'log', 'show', 'restore', 'get', 'export', 'convert', 'tag', 'rollback', 'verify', 'stats', 'forget', 'gc'];

describe('engram command line', () => {
  let work: string;
  let repo: string;

  before(async () => {
    work = await tempDir();
    repo = join(work, 'repo');
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  });

  test('--version prints the version in package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runCli(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `engram ${pkg.version}\n`);
  });

  test('the top-level help lists every option of every command and every export format', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    for (const needed of ['--keep-best', '--dry-run', '--force', '--grace', '--template', '--external-data', '--nest', '--version']) {
      assert.ok(top.stdout.includes(needed), `help lists ${needed}`);
    }
    for (const format of ['safetensors', 'npz', 'npy', 'gguf', 'tfjs', 'pt', 'h5', 'onnx']) assert.match(top.stdout, new RegExp(`--format [^\\n]*\\b${format}\\b`));
    for (const cmd of COMMANDS) {
      const own = await runCli([cmd, '--help']);
      assert.equal(own.code, 0, `${cmd} --help`);
      for (const option of new Set(own.stdout.match(/--[a-z][a-z-]*/g) ?? [])) {
        assert.ok(top.stdout.includes(option), `engram --help lists ${cmd}'s ${option}`);
      }
    }
  });

  test('negative numbers are InvalidArgument saying what range is allowed', async () => {
    const input = join(FIXTURES, 'numpy', 'f32_C.npy');
    const cases: [string[], RegExp][] = [
      [['save', input, '--run', 'r', '--step', '-1'], /--step must be an integer from 0 to 9007199254740991, got "-1"/],
      [['forget', '--keep-last', '-2'], /--keep-last must be an integer from 1 to /],
      [['restore', 'r@1', join(work, 'x'), '--rank', '-1', '--world-size', '2'], /--rank must be an integer from 0 to 1, got "-1"/],
      [['init', '--level', '-3'], /--level must be an integer from 1 to 22, got "-3"/],
      [['gc', '--grace', '-5m'], /--grace expects a duration of 0 or more/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli([...args, '--repo', args[0] === 'init' ? join(work, 'fresh') : repo]);
      assert.equal(r.code, INVALID_ARGUMENT, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /ambiguous/);
    }
  });

  test('hints fit the error', async () => {
    const again = await runCli(['init', '--repo', repo]);
    assert.equal(again.code, CONFLICT);
    assert.match(again.stderr, /already an engram repository/);
    assert.doesNotMatch(again.stderr, /retry/);

    const missing = await runCli(['save', join(work, 'no-such-file.safetensors'), '--run', 'r', '--repo', repo]);
    assert.equal(missing.code, NOT_FOUND);
    assert.match(missing.stderr, /no-such-file\.safetensors does not exist/);
    assert.doesNotMatch(missing.stderr.split('\n')[1]!, /engram log/);

    const convert = await runCli(['convert', join(work, 'no-such-model.pt'), join(work, 'out.safetensors')]);
    assert.equal(convert.code, NOT_FOUND);
    assert.match(convert.stderr, /no-such-model\.pt: no such file or directory/);
    assert.match(convert.stderr.split('\n')[1]!, /Check the path/);

    const noRepo = await runCli(['log', '--repo', join(work, 'nowhere')]);
    assert.equal(noRepo.code, NOT_FOUND);
    assert.match(noRepo.stderr.split('\n')[1]!, /engram init --repo/);
    assert.doesNotMatch(noRepo.stderr.split('\n')[1]!, /engram log/);

    assert.equal((await runCli(['save', join(FIXTURES, 'safetensors', 'dtypes.safetensors'), '--run', 'dt', '--step', '1', '--repo', repo])).code, 0);
    const bf16 = await runCli(['export', 'dt@1', '--format', 'npz', '-o', join(work, 'out.npz'), '--repo', repo]);
    assert.equal(bf16.code, UNSUPPORTED, bf16.stderr);
    assert.match(bf16.stderr, /dtype BF16/);
    assert.match(bf16.stderr.split('\n')[1]!, /--format safetensors/);
    assert.doesNotMatch(bf16.stderr, /[Uu]pgrade/);
  });

  test('"1 file", not "1 files"', async () => {
    const save = await runCli(['save', join(FIXTURES, 'numpy', 'f32_C.npy'), '--run', 'one', '--step', '1', '--repo', repo]);
    assert.equal(save.code, 0, save.stderr);
    assert.match(save.stdout, /: 1 file, 1 tensor\n/);
    const restore = await runCli(['restore', 'one@1', join(work, 'one'), '--repo', repo]);
    assert.match(restore.stdout, /: 1 file, /);
    const show = await runCli(['show', 'one@1', '--repo', repo]);
    assert.match(show.stdout, /\n1 tensor:\n/);
    assert.match(show.stdout, /\n1 file:\n/);
  });
});
