/**
 * Damaged tag and run-head events (issue 11, item 12), on a real fs repository: one flipped byte
 * anywhere in an event is an `IntegrityMismatch` naming the file — never a SyntaxError, never a
 * silently different target — verify reports it as a finding, moving the ref again repairs
 * resolution, and events written before checksums (plain JSON) are still read.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { f32Tensor } from '../helpers/weights.ts';

async function setup(): Promise<{ dir: string; repo: Repository; ids: string[] }> {
  const dir = await tempDir('engram-refs-');
  const repo = await Repository.init(dir);
  const ids: string[] = [];
  for (let step = 0; step < 3; step++) ids.push((await repo.save({ run: 'r', step, tensors: { 'model/w': f32Tensor([32], step) } })).id);
  await repo.tag('best', ids[0]!);
  await repo.tag('best', ids[1]!);
  await repo.rollback('r', ids[1]!);
  return { dir, repo, ids };
}

/** The newest event file under `refs/<name>/` or `heads/<name>/`. */
async function newestEvent(dir: string, prefix: 'refs' | 'heads', name: string): Promise<string> {
  const files = (await readdir(join(dir, prefix, name))).filter((f) => f.endsWith('.json')).sort();
  return join(dir, prefix, name, files.at(-1)!);
}

const integrity = (key: RegExp) => (e: unknown): boolean => isEngramError(e, 'IntegrityMismatch') && key.test(e.message);

test('every single flipped byte of a tag event is refused by name or reads back the same target', async () => {
  const { dir, repo, ids } = await setup();
  const path = await newestEvent(dir, 'refs', 'best');
  const good = await readFile(path);
  let refused = 0;
  for (let i = 0; i < good.length; i++) {
    const bad = Buffer.from(good);
    bad[i]! ^= 0x01;
    await writeFile(path, bad);
    const fresh = await Repository.open(dir);
    try {
      assert.equal(await fresh.resolve('tag:best'), ids[1], `byte ${i}: a flip must never change the target`);
    } catch (e) {
      assert.ok(isEngramError(e, 'IntegrityMismatch') && e.message.includes('refs/best/'), `byte ${i}: ${String(e)}`);
      refused++;
    }
    const report = await fresh.verify();
    assert.equal(report.ok, false, `byte ${i}: verify must report the damaged event`);
    assert.ok(report.findings.some((f) => f.kind === 'damaged-ref' && f.ref === 'best'), `byte ${i}`);
  }
  assert.equal(refused, good.length, 'the checksum covers every byte');
  await writeFile(path, good);
  assert.equal((await (await Repository.open(dir)).verify()).ok, true, "restored, the repository verifies again");
  await rm(dir, { recursive: true, force: true });
});

test('a damaged tag names its file in log and tag (CLI), and moving the tag again repairs it', async () => {
  const { dir, ids } = await setup();
  const path = await newestEvent(dir, 'refs', 'best');
  const bytes = await readFile(path);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x20;
  await writeFile(path, bytes);
  for (const args of [['log'], ['tag']]) {
    const res = await runCli([...args, '--repo', dir]);
    assert.equal(res.code, 5, `${args[0]}: ${res.stderr}`);
    assert.match(res.stderr, /IntegrityMismatch: ref event refs\/best\/[0-9A-Z]{26}\.json .* is damaged/);
    assert.doesNotMatch(res.stderr, /internal error|SyntaxError|\n\s+at /);
  }
  const repo = await Repository.open(dir);
  await repo.tag('best', ids[2]!);
  assert.equal(await repo.resolve('tag:best'), ids[2]);
  const history = repo.tagHistory('best');
  await assert.rejects(history, integrity(/refs\/best\//), 'the damaged event stays in the audit trail, by name');
  await rm(dir, { recursive: true, force: true });
});

test('a damaged run-head event fails verify and makes run@latest refuse by name', async () => {
  const { dir, ids } = await setup();
  const path = await newestEvent(dir, 'heads', 'r');
  const bytes = await readFile(path);
  bytes[bytes.length - 10]! ^= 0x04;
  await writeFile(path, bytes);
  const repo = await Repository.open(dir);
  const report = await repo.verify();
  assert.equal(report.ok, false);
  assert.deepEqual(report.findings.map((f) => [f.kind, f.ref]), [['damaged-ref', 'r']]);
  await assert.rejects(repo.resolve('r@latest'), integrity(/heads\/r\/.*engram rollback r/));
  await assert.rejects(repo.save({ run: 'r', tensors: { 'model/w': f32Tensor([32], 9) } }), integrity(/heads\/r\//));
  // Rolling back again supersedes it.
  await repo.rollback('r', ids[0]!);
  assert.equal(await repo.resolve('r@latest'), ids[0]);
  await rm(dir, { recursive: true, force: true });
});

test('events written before checksums (plain JSON) are still read', async () => {
  const { dir, repo, ids } = await setup();
  const event = { format: 'engram.ref', name: 'old', event: '01JZ0000000000000000000000', target: ids[2], previous: null, at: '2025-01-01T00:00:00.000Z', message: '' };
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'refs', 'old'), { recursive: true });
  await writeFile(join(dir, 'refs', 'old', `${event.event}.json`), JSON.stringify(event, null, 1) + '\n');
  assert.equal(await repo.resolve('tag:old'), ids[2]);
  assert.deepEqual((await repo.tagHistory('old')).map((e) => e.target), [ids[2]]);
  assert.equal((await repo.verify()).ok, true);
  await repo.tag('old', ids[0]!);
  assert.equal(await repo.resolve('tag:old'), ids[0]);
  await rm(dir, { recursive: true, force: true });
});
