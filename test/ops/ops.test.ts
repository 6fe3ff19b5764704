/**
 * ops/ as a library: a real fixture directory ingested into a repository, restored byte for byte
 * (to a directory and to an in-memory sink) and exported to safetensors, with every progress event
 * checked. Nothing here runs the CLI.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isEngramError } from '../../src/errors/index.ts';
import { bufferSource, decodeFileTensor, openFileSource, readTensorFile } from '../../src/formats/index.ts';
import {
  exportSnapshot, ingestDirectory, LOOSE_TENSORS_PATH, looseTensorNames, restoreSnapshot, restoreSnapshotToDirectory,
  type OpsProgress, type RestoreSink,
} from '../../src/ops/index.ts';
import { Repository } from '../../src/repo/index.ts';
import { Tensor } from '../../src/tensor/index.ts';

const NUMPY = fileURLToPath(new URL('../fixtures/numpy/', import.meta.url));

/** Every file under `dir`: relative path → SHA-256. */
async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p).split('\\').join('/'), createHash('sha256').update(await readFile(p)).digest('hex'));
    }
  };
  await walk(dir);
  return out;
}

/** The total size of the files under `dir` (flat: the fixture directory has no sub-directory). */
async function treeBytes(dir: string): Promise<{ files: number; bytes: number }> {
  const names = await readdir(dir);
  let bytes = 0;
  for (const n of names) bytes += (await stat(join(dir, n))).size;
  return { files: names.length, bytes };
}

/**
 * Checks a run of events: phases appear in `phases`' order, each at least once; within a phase the
 * totals never change and the done counts never decrease nor pass the totals; the last event of
 * each phase reports the phase complete. Returns the last event of each phase.
 */
function checkEvents(events: readonly OpsProgress[], phases: readonly OpsProgress['phase'][]): Map<string, OpsProgress> {
  const seen = [...new Set(events.map((e) => e.phase))];
  assert.deepEqual(seen, phases, 'phases in order, each once as a run');
  const last = new Map<string, OpsProgress>();
  for (const e of events) {
    const prev = last.get(e.phase);
    assert.ok(e.bytesDone >= 0 && e.bytesDone <= e.bytesTotal, `${e.phase}: ${e.bytesDone} within 0..${e.bytesTotal}`);
    if ('filesDone' in e) assert.ok(e.filesDone >= 0 && e.filesDone <= e.filesTotal, `${e.phase}: files within the total`);
    if (prev) {
      assert.equal(e.bytesTotal, prev.bytesTotal, `${e.phase}: bytes total constant`);
      assert.ok(e.bytesDone >= prev.bytesDone, `${e.phase}: bytes done monotone`);
      if ('filesDone' in e && 'filesDone' in prev) {
        assert.equal(e.filesTotal, prev.filesTotal, `${e.phase}: files total constant`);
        assert.ok(e.filesDone >= prev.filesDone, `${e.phase}: files done monotone`);
      }
    }
    last.set(e.phase, e);
  }
  for (const [phase, e] of last) {
    assert.equal(e.bytesDone, e.bytesTotal, `${phase} ends complete`);
    if ('filesDone' in e) assert.equal(e.filesDone, e.filesTotal, `${phase} ends with every file`);
  }
  return last;
}

async function newRepo(): Promise<{ work: string; repo: Repository }> {
  const work = await mkdtemp(join(tmpdir(), 'engram-ops-'));
  await (await Repository.init(join(work, 'repo'))).close();
  // As the CLI opens it: tensors held inside a compressed file (deflated.npz) are decoded from the rebuilt file.
  return { work, repo: await Repository.open(join(work, 'repo'), { fileTensors: decodeFileTensor }) };
}

test('ingestDirectory, restoreSnapshotToDirectory and exportSnapshot round-trip a real fixture directory, reporting progress', async () => {
  const { work, repo } = await newRepo();
  try {
    const source = await treeBytes(NUMPY);
    const events: OpsProgress[] = [];
    const ingested = await ingestDirectory(repo, NUMPY, { run: 'r', step: 7, message: 'numpy fixtures', onProgress: (e) => events.push(e) });
    assert.equal(ingested.files, source.files);
    assert.equal(ingested.snapshot.step, 7);
    assert.equal(ingested.snapshot.files.length, source.files);
    const ingest = checkEvents(events, ['reading', 'saving']);
    const reading = ingest.get('reading')!;
    assert.equal(reading.bytesTotal, source.bytes, 'reading counts every byte of every file');
    assert.ok('filesTotal' in reading && reading.filesTotal === source.files);
    // Every tensor came from a file: nothing would go to tensors.safetensors.
    assert.deepEqual(looseTensorNames(ingested.snapshot), []);

    const snap = await repo.snapshot('r@7');
    const out = join(work, 'restored');
    const restoreEvents: OpsProgress[] = [];
    const restored = await restoreSnapshotToDirectory(snap, out, { onProgress: (e) => restoreEvents.push(e) });
    assert.deepEqual(await hashTree(out), await hashTree(NUMPY), 'byte-exact restore');
    assert.equal(restored.bytes, source.bytes);
    assert.deepEqual([...restored.written].sort(), snap.files.map((f) => join(out, f.path)).sort());
    const restoring = checkEvents(restoreEvents, ['restoring']).get('restoring')!;
    assert.equal(restoring.bytesTotal, source.bytes);
    assert.ok('filesTotal' in restoring && restoring.filesTotal === source.files);
    // The hidden sibling it was built in is gone.
    assert.deepEqual((await readdir(work)).sort(), ['repo', 'restored']);

    const st = join(work, 'all.safetensors');
    const exportEvents: OpsProgress[] = [];
    const exported = await exportSnapshot(snap, st, { format: 'safetensors', onProgress: (e) => exportEvents.push(e) });
    const names = snap.tensorNames();
    assert.equal(exported.tensors, names.length);
    assert.equal(exported.bytes, (await stat(st)).size);
    const exporting = checkEvents(exportEvents, ['exporting']).get('exporting')!;
    assert.equal(exporting.bytesTotal, names.reduce((n, name) => n + snap.tensorInfo(name).byteLength, 0));
    const src = await openFileSource(st);
    try {
      const file = await readTensorFile(src);
      assert.deepEqual(file.tensors.map((t) => t.name).sort(), [...names].sort());
      for (const t of file.tensors) {
        const want = await snap.tensor(t.name);
        assert.equal(t.dtype, want.dtype, t.name);
        assert.deepEqual(t.shape, want.shape, t.name);
        assert.deepEqual(new Uint8Array(await t.load()), new Uint8Array(want.data), `${t.name}: the snapshot's bytes`);
      }
    } finally {
      await src.close();
    }
  } finally {
    await repo.close();
  }
});

test('restoreSnapshot writes files, loose tensors and blobs to any sink; a non-empty directory is a Conflict and stays as it was', async () => {
  const { work, repo } = await newRepo();
  try {
    const w = Tensor.fromFloat32(new Float32Array([1, 2, 3, 4]), [2, 2]);
    await ingestDirectory(repo, NUMPY, { run: 'r', step: 1 });
    const snap = await repo.save({ run: 'lib', step: 1, tensors: { 'model/w': w }, blobs: { 'notes.txt': new TextEncoder().encode('hello') } });
    assert.deepEqual(looseTensorNames(snap), ['model/w']);

    const files = new Map<string, Uint8Array>();
    const sink: RestoreSink = {
      async write(path, pieces) {
        const parts: Uint8Array[] = [];
        for await (const p of pieces) parts.push(p);
        files.set(path, Buffer.concat(parts));
      },
    };
    const restored = await restoreSnapshot(snap, sink);
    assert.deepEqual(restored.written, [LOOSE_TENSORS_PATH, 'blobs/notes.txt']);
    assert.equal(new TextDecoder().decode(files.get('blobs/notes.txt')), 'hello');
    const st = await readTensorFile(bufferSource(LOOSE_TENSORS_PATH, files.get(LOOSE_TENSORS_PATH)!));
    assert.deepEqual(st.tensors.map((t) => [t.name, t.dtype, t.shape]), [['model/w', 'F32', [2, 2]]]);
    assert.deepEqual(new Uint8Array(await st.tensors[0]!.load()), new Uint8Array(w.data));

    // The fixture snapshot into the sink: the same bytes as on disk.
    files.clear();
    await restoreSnapshot(await repo.snapshot('r@1'), sink);
    for (const [path, hash] of await hashTree(NUMPY)) assert.equal(createHash('sha256').update(files.get(path)!).digest('hex'), hash, path);

    const busy = join(work, 'busy');
    await mkdir(busy);
    await writeFile(join(busy, 'keep.txt'), 'mine');
    await assert.rejects(restoreSnapshotToDirectory(snap, busy), (e) => isEngramError(e, 'Conflict'));
    assert.deepEqual(await hashTree(busy), new Map([['keep.txt', createHash('sha256').update('mine').digest('hex')]]));
    assert.deepEqual((await readdir(work)).sort(), ['busy', 'repo']);
  } finally {
    await repo.close();
  }
});
