/**
 * A save that has to wait for a garbage collection says so on stderr: which GC, whose process, and
 * how long it will wait (issue 11, item 9). The GC here is "held" by a live child process, which
 * the test ends once the save has said it waits: the save then sees its owner gone and proceeds.
 * (Its marker also expires 20 s after it was written, so a save that never says it waits — as
 * before this change — still ends, and the test fails on what it printed.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeSafetensors } from '../../src/formats/index.ts';
import { gcMarkerKey, STALE_MS } from '../../src/repo/coordination.ts';
import { currentProcess } from '../../src/repo/process-identity.ts';
import { newId } from '../../src/repo/index.ts';
import { runCli, spawnCli, tempDir } from '../helpers/cli.ts';
import { gaussian } from '../helpers/weights.ts';

test('engram save waiting for a running gc prints whom it waits for and for how long', async () => {
  const work = await tempDir('engram-wait-');
  const repo = join(work, 'repo');
  assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  const file = join(work, 'a.safetensors');
  const v = gaussian(1024, 1);
  await writeFile(file, writeSafetensors([{ name: 'w', dtype: 'F32', shape: [1024], data: new Uint8Array(v.buffer) }]));

  // A GC held by a live process (as its record would say), its marker expiring in 20 s.
  const owner = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
  await new Promise((res) => owner.on('spawn', res));
  const stat = await readFile(`/proc/${owner.pid}/stat`, 'latin1');
  const procStart = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  const gcId = newId();
  const marker = join(repo, ...gcMarkerKey(gcId).split('/'));
  await mkdir(join(marker, '..'), { recursive: true });
  const then = new Date(Date.now() - STALE_MS + 20_000);
  await writeFile(marker, JSON.stringify({ ...currentProcess(), pid: owner.pid, procStart, startedAt: then.toISOString() }));
  await utimes(marker, then, then);

  const child = spawnCli(['save', file, '--repo', repo, '--run', 'r']);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.includes('waiting for garbage collection')) owner.kill('SIGKILL');
  });
  const code = await new Promise((res) => child.on('close', res));
  owner.kill('SIGKILL');
  const res = { code, stderr };
  assert.match(res.stderr, new RegExp(`waiting for garbage collection ${gcId} \\(pid ${owner.pid} on [^;]+; taken for crashed in \\d+ s`));
  assert.match(res.stderr, /giving up after 1200 s/);
  await rm(work, { recursive: true, force: true });
});
