/**
 * `engram export` and `engram convert` stream: their peak memory is one tensor and a fixed
 * buffer, not the output. Each command runs in its own process, which reports its peak RSS
 * (VmHWM) at exit; the bound is measured against a process that only opens the repository, so it
 * does not depend on node's own footprint. Only bytes are bounded, never time.
 */
import assert from 'node:assert/strict';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openFileSource, readTensorFile } from '../../src/formats/index.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { runCliPeakRss } from '../helpers/peak-rss.ts';

const MiB = 1 << 20;
const COUNT = 12;
const TENSOR_BYTES = 32 * MiB;
const ROWS = TENSOR_BYTES / 4 / 1024;
/**
 * What a streamed export may use beyond one tensor and a half, whatever the model's size: the
 * repository's read path (a 16 MiB chunk cache, two codec worker threads and their heaps, decoded
 * chunks the GC has not yet reclaimed) and the writers' code. Measured at 200–230 MiB; holding
 * the output, as a writer that builds the file in memory does, costs the model's 384 MiB on top.
 */
const ALLOWANCE = 256 * MiB;
const BOUND = 1.5 * TENSOR_BYTES + ALLOWANCE;

/** Tensor `i`'s bytes: distinct per tensor and per chunk, so nothing deduplicates, yet quick to compress. */
function tensorBytes(i: number): Uint8Array {
  const w = new Uint32Array(TENSOR_BYTES / 4);
  for (let k = 0; k < w.length; k++) w[k] = (i << 24) ^ Math.imul(k, 2654435761);
  return new Uint8Array(w.buffer);
}

const nameOf = (i: number): string => `layer${String(i).padStart(2, '0')}.weight`;

/**
 * Writes the model as .safetensors one tensor at a time (names already in the order the format
 * sorts them), so the test process itself never holds it.
 */
async function writeModel(path: string): Promise<void> {
  const fields = Array.from({ length: COUNT }, (_, i) => `"${nameOf(i)}":{"dtype":"F32","shape":[${ROWS},1024],"data_offsets":[${i * TENSOR_BYTES},${(i + 1) * TENSOR_BYTES}]}`);
  let json = `{${fields.join(',')}}`;
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = new Uint8Array(8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
  head.set(new TextEncoder().encode(json), 8);
  const fh = await open(path, 'w');
  try {
    await fh.write(head);
    for (let i = 0; i < COUNT; i++) await fh.write(tensorBytes(i));
  } finally {
    await fh.close();
  }
}

/** Asserts that `path` holds every tensor of the model, by name, with its bytes. */
async function assertModel(path: string, prefix: string): Promise<void> {
  const src = await openFileSource(path);
  try {
    const file = await readTensorFile(src);
    assert.deepEqual(file.tensors.map((t) => t.name).sort(), Array.from({ length: COUNT }, (_, i) => `${prefix}${nameOf(i)}`));
    for (const t of file.tensors) {
      const i = Number(/layer(\d+)/.exec(t.name)![1]);
      assert.ok(Buffer.from(await t.load()).equals(Buffer.from(tensorBytes(i))), `${path}: ${t.name} holds its bytes`);
    }
  } finally {
    await src.close();
  }
}

describe('export and convert hold one tensor at a time', () => {
  let work: string;
  let repo: string;
  let model: string;
  let baseline: number;

  before(async () => {
    work = await tempDir();
    repo = join(work, 'repo');
    model = join(work, 'model.safetensors');
    await writeModel(model);
    assert.equal((await runCli(['init', '--repo', repo])).code, 0);
    const save = await runCli(['save', model, '--repo', repo, '--run', 'big', '--step', '1']);
    assert.equal(save.code, 0, save.stderr);
    const show = await runCliPeakRss(['show', 'big@1', '--repo', repo]);
    assert.equal(show.code, 0, show.stderr);
    baseline = show.peakRss;
  });

  after(() => rm(work, { recursive: true, force: true }));

  for (const format of ['safetensors', 'pt', 'npz'] as const) {
    test(`export --format ${format} of ${COUNT} × 32 MiB stays within 1.5 × one tensor + ${ALLOWANCE / MiB} MiB`, async (t) => {
      const out = join(work, `export.${format}`);
      const r = await runCliPeakRss(['export', 'big@1', '--format', format, '-o', out, '--repo', repo]);
      assert.equal(r.code, 0, r.stderr);
      const over = r.peakRss - baseline;
      t.diagnostic(`peak ${(over / MiB).toFixed(0)} MiB above the baseline of ${(baseline / MiB).toFixed(0)} MiB`);
      assert.ok(over <= BOUND, `export to ${format} peaked ${(over / MiB).toFixed(0)} MiB above opening the repository; the bound is ${BOUND / MiB} MiB`);
      assert.ok((await stat(out)).size > COUNT * TENSOR_BYTES);
      await assertModel(out, 'model.safetensors:');
      await rm(out);
    });

    test(`convert to ${format} of ${COUNT} × 32 MiB stays within 1.5 × one tensor + ${ALLOWANCE / MiB} MiB`, async (t) => {
      const out = join(work, `convert.${format}`);
      const r = await runCliPeakRss(['convert', model, out]);
      assert.equal(r.code, 0, r.stderr);
      const over = r.peakRss - baseline;
      t.diagnostic(`peak ${(over / MiB).toFixed(0)} MiB above the baseline of ${(baseline / MiB).toFixed(0)} MiB`);
      assert.ok(over <= BOUND, `convert to ${format} peaked ${(over / MiB).toFixed(0)} MiB above opening a repository; the bound is ${BOUND / MiB} MiB`);
      await assertModel(out, '');
      await rm(out);
    });
  }
});
