/**
 * Several `engram save` processes writing different runs into one S3 repository (on the real Ceph
 * RGW) at the same time, while `engram gc --grace 0s` runs again and again: afterwards `engram
 * verify` is clean and every snapshot restores byte-identical through `engram restore`. The writers
 * share a tensor whose chunks were orphaned just before (saved, then forgotten), so GC and the
 * writers race over the very chunks the writers deduplicate against. test/cli/gc-race.test.ts is
 * the fs version of the two-process race. Also: `engram init` creates the bucket when it is absent.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { writeSafetensors } from '../../src/formats/index.ts';
import { S3Store } from '../../src/s3.ts';
import { hashTree, runCli, tempDir, type CliResult } from '../helpers/cli.ts';
import { emptyS3Store, requireS3Env, s3ChildEnv, s3TestStoreOptions, uniqueS3Name } from '../helpers/s3-test-store.ts';
import { gaussian } from '../helpers/weights.ts';

const WRITERS = 3;
const STEPS = 2;
const GC_ROUNDS = 4;

function tensor(name: string, n: number, seed: number): { name: string; dtype: 'F32'; shape: number[]; data: Uint8Array } {
  return { name, dtype: 'F32', shape: [n], data: new Uint8Array(gaussian(n, seed).buffer) };
}

/** A checkpoint: `shared` (the same bytes in every writer's checkpoint) and a new per-step tensor. */
async function makeCheckpoint(dir: string, seed: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'shared.safetensors'), writeSafetensors([tensor('embed.weight', 196_608, 1)]));
  await writeFile(join(dir, 'own.safetensors'), writeSafetensors([tensor('head.weight', 300_000, seed), tensor('head.bias', 1000, seed + 1)]));
}

test(`${WRITERS} writer processes and a repeated gc on one S3 repository lose nothing`, async (t) => {
  const e = requireS3Env();
  const env = s3ChildEnv();
  // A bucket of its own, which must not exist yet: `engram init` creates it.
  const bucket = `${e.bucketPrefix}-${uniqueS3Name('mw')}`.slice(0, 63).replace(/-+$/, '');
  const url = `s3://${bucket}/team/models`;
  const work = await tempDir('engram-s3-mw-');
  const cli = (args: string[]): Promise<CliResult> => runCli([...args, '--repo', url], env);
  try {
    const init = await cli(['init', '--chunk-size', String(64 * 1024)]);
    assert.equal(init.code, 0, init.stderr);
    // Orphan the shared tensor's chunks: saved by a run that is then forgotten.
    const orphanDir = join(work, 'orphan');
    await makeCheckpoint(orphanDir, 999);
    assert.equal((await cli(['save', orphanDir, '--run', 'tmp', '--step', '0'])).code, 0);
    assert.equal((await cli(['forget', '--run', 'tmp', '--all', '--no-keep-newest'])).code, 0);

    const expected = new Map<string, Map<string, string>>();
    const writer = async (w: number): Promise<void> => {
      for (let step = 0; step < STEPS; step++) {
        const dir = join(work, `w${w}-s${step}`);
        await makeCheckpoint(dir, 10 * w + step + 2);
        expected.set(`w${w}@${step}`, await hashTree(dir));
        const res = await cli(['save', dir, '--run', `w${w}`, '--step', String(step)]);
        assert.equal(res.code, 0, `w${w}@${step}: ${res.stderr}`);
      }
    };
    const gcReports: { swept: number; skipped?: { reason: string } }[] = [];
    const collector = async (): Promise<void> => {
      for (let round = 0; round < GC_ROUNDS; round++) {
        await new Promise((r) => setTimeout(r, 300 + round * 400));
        const res = await cli(['gc', '--grace', '0s', '--json']);
        assert.equal(res.code, 0, `gc round ${round}: ${res.stderr}`);
        gcReports.push(JSON.parse(res.stdout) as { swept: number; skipped?: { reason: string } });
      }
    };
    await Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), collector()]);
    assert.equal(gcReports.length, GC_ROUNDS);

    const verify = await cli(['verify']);
    assert.equal(verify.code, 0, `${verify.stdout}${verify.stderr}`);
    const log = await cli(['log', '--json']);
    assert.equal(log.code, 0, log.stderr);
    for (let w = 0; w < WRITERS; w++) assert.ok(log.stdout.includes(`"w${w}"`), `log lists run w${w}`);
    for (const [ref, tree] of expected) {
      const out = join(work, `out-${ref.replace('@', '-')}`);
      const res = await cli(['restore', ref, out]);
      assert.equal(res.code, 0, `${ref}: ${res.stderr}`);
      assert.deepEqual(await hashTree(out), tree, `${ref} restores byte-identical`);
    }
    // Nothing is left for a final GC but the forgotten run's orphans (if no earlier round got them).
    const final = await cli(['gc', '--grace', '0s', '--json']);
    assert.equal(final.code, 0, final.stderr);
    gcReports.push(JSON.parse(final.stdout) as { swept: number; skipped?: { reason: string } });
    // The forgotten run's chunks that no writer re-used (its own.safetensors) were orphans: swept.
    t.diagnostic(`gc rounds: ${gcReports.map((r) => r.skipped?.reason ?? `swept ${r.swept}`).join(', ')}`);
    assert.ok(gcReports.reduce((n, r) => n + r.swept, 0) > 0, `no gc swept anything: ${JSON.stringify(gcReports)}`);
    assert.equal((await cli(['verify'])).code, 0);
  } finally {
    await rm(work, { recursive: true, force: true });
    const store = new S3Store(s3TestStoreOptions(`s3://${bucket}`));
    await emptyS3Store(store).catch(() => undefined);
    await store.close();
    const raw = new S3Client({ endpoint: e.endpoint, region: e.region, credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey }, forcePathStyle: true });
    await raw.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    raw.destroy();
  }
});
