import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isEngramError } from '../../src/errors/index.ts';
import { CodecPool, decodeChunk, encodeChunk, readChunkHeader, sha256Hex } from '../../src/codec/index.ts';
import { gaussian } from '../helpers/weights.ts';

const weights = (n: number, seed: number): Uint8Array => new Uint8Array(gaussian(n, seed).buffer);

/** Waits until the pool's workers have started, so that requests really cross a thread. */
async function warm(pool: CodecPool): Promise<void> {
  await pool.whenReady();
  assert.ok(pool.workersReady(), 'codec workers never became ready');
}

test('chunks coded on workers are byte-identical to inline coding, deltas included', async () => {
  const pool = new CodecPool(2);
  try {
    await warm(pool);
    const base = weights(256 * 1024, 1);
    const next = base.slice();
    for (let i = 0; i < next.length; i += 64) next[i] = (next[i]! + 1) & 0xff;
    const b = { hash: sha256Hex(base), bytes: base };
    const [onWorker, inline] = await Promise.all([pool.encode(next, { width: 4, level: 3, base: b }), encodeChunk(next, { width: 4, level: 3, base: b })]);
    assert.deepEqual(onWorker, inline);
    assert.equal(readChunkHeader(onWorker).baseHash, b.hash);
    const back = await pool.decode(onWorker.slice(), { expectedHash: sha256Hex(next), base: b });
    assert.deepEqual(back, next);
    assert.deepEqual(await decodeChunk(inline, { expectedHash: sha256Hex(next), getBase: async () => base }), next);
  } finally {
    await pool.close();
  }
});

test('an integrity failure on a worker arrives as the same typed error', async () => {
  const pool = new CodecPool(1);
  try {
    await warm(pool);
    const raw = weights(256 * 1024, 3);
    const enc = await pool.encode(raw, { width: 4, level: 3 });
    const bad = enc.slice();
    bad[bad.length - 100]! ^= 0x20;
    await assert.rejects(pool.decode(bad, { expectedHash: sha256Hex(raw) }), (e) => isEngramError(e, 'IntegrityMismatch'));
    await assert.rejects(pool.decode(enc.slice(), { expectedHash: '0'.repeat(64) }), (e) => isEngramError(e, 'IntegrityMismatch') && e.data.expected === '0'.repeat(64));
  } finally {
    await pool.close();
  }
});

test('an idle pool never keeps a process alive', () => {
  const script = fileURLToPath(new URL('../helpers/use-codec-pool.ts', import.meta.url));
  // The failure looked for is a process that never exits, so a limit is its only sign: a last resort,
  // far above what a correct run takes on a loaded machine (seconds), never a speed claim.
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, `exit ${r.status} signal ${r.signal}: ${r.stderr}`);
  assert.match(r.stdout, /decoded 1048576 bytes/);
});
