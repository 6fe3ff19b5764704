/**
 * The CLI on an s3:// repository (real Ceph RGW): init, save, log, restore byte-identical, with the
 * server named by the global `--endpoint` flag alone; and the errors a user meets first.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { S3Store } from '../../src/s3.ts';
import { FIXTURES, hashTree, runCli, tempDir } from '../helpers/cli.ts';
import { emptyS3Store, requireS3Env, s3ChildEnv, s3TestStoreOptions, s3TestUrl } from '../helpers/s3-test-store.ts';

test('engram init/save/log/restore on s3://bucket/prefix with --endpoint', async () => {
  const e = requireS3Env();
  const url = s3TestUrl('cli');
  // No endpoint in the environment: only the flag names the server.
  const env = { ...s3ChildEnv(), AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_S3: '' };
  const cli = (args: string[]): ReturnType<typeof runCli> => runCli([...args, '--repo', url, '--endpoint', e.endpoint], env);
  const work = await tempDir('engram-s3-cli-');
  try {
    const init = await cli(['init']);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, new RegExp(`Initialized an empty engram repository in ${url}`));
    assert.equal(init.stderr, '', 'no SDK warnings on stderr');
    const again = await cli(['init']);
    assert.equal(again.code, 6, 'a second init is a Conflict');

    const src = join(FIXTURES, 'safetensors');
    const save = await cli(['save', src, '--run', 'r', '--step', '3']);
    assert.equal(save.code, 0, save.stderr);
    const log = await cli(['log']);
    assert.equal(log.code, 0, log.stderr);
    assert.match(log.stdout, /r@3 \[head\]/);
    const out = join(work, 'out');
    const restore = await cli(['restore', 'r@3', out]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(await hashTree(out), await hashTree(src));
    const verify = await cli(['verify']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  } finally {
    await rm(work, { recursive: true, force: true });
    const store = new S3Store(s3TestStoreOptions(url));
    await emptyS3Store(store);
    await store.close();
  }
});

test('engram on an s3:// repository that does not exist says so (NotFound, exit 3)', async () => {
  requireS3Env();
  const res = await runCli(['log', '--repo', `s3://engram-no-such-bucket-${process.pid}/x`], s3ChildEnv());
  assert.equal(res.code, 3, res.stderr);
  assert.match(res.stderr, /no engram repository at s3:\/\/engram-no-such-bucket-\d+\/x; create one with `engram init`/);
  const bad = await runCli(['log', '--repo', 's3://Bad_Bucket/x'], s3ChildEnv());
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /not an S3 repository URL/);
});
