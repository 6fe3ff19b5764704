/**
 * Chunks and manifests written before issue 12's kernels still read bit-exactly.
 *
 * test/fixtures/repo-v1/ is a repository written by the pre-issue-12 code
 * (scripts/fixtures/make-repo-v1.ts, run once and committed; never regenerate it with a newer
 * codec). This test reads it with today's code: it first checks, from the chunk objects on disk,
 * that every encoding the old codec wrote really occurs in it (so the fixture cannot silently lose
 * coverage), then restores every snapshot against expected.json, verifies, and writes a new
 * snapshot whose delta bases are old chunks. It depends on the chunk FORMAT (the version-1 header
 * and per-plane table, read here from the bytes), never on how the codec implements it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readChunkHeader } from '../../src/codec/index.ts';
import { isEngramError } from '../../src/errors/index.ts';
import { decodeFileTensor, openFileSource, readTensorFile } from '../../src/formats/index.ts';
import { LOOSE_TENSORS_PATH, restoreSnapshotToDirectory } from '../../src/ops/index.ts';
import { Repository, type SnapshotManifest } from '../../src/repo/index.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/repo-v1/', import.meta.url));

interface ExpectedSnapshot {
  readonly id: string;
  readonly run: string;
  readonly step: number;
  readonly tensors: Record<string, string>;
  readonly blobs: Record<string, string>;
  readonly files: Record<string, { size: number; sha256: string }>;
}
interface Expected {
  readonly heads: Record<string, string>;
  readonly tags: Record<string, string>;
  readonly snapshots: readonly ExpectedSnapshot[];
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const expected = JSON.parse(await readFile(join(FIXTURE, 'expected.json'), 'utf8')) as Expected;

/** Plane codec bytes of the version-1 per-plane payload: 0 raw, 1 zstd, 2 rANS. */
const PLANE_CODECS = ['raw', 'zstd', 'rans'];

/** One chunk object on disk, described from its bytes: header fields, and each plane's codec. */
interface OnDisk {
  readonly hash: string;
  readonly key: string;
  readonly planes: string[];
}

/** Reads every chunk object of the fixture; the plane table is parsed from the format, not the codec. */
async function chunkObjects(root: string): Promise<OnDisk[]> {
  const out: OnDisk[] = [];
  for (const dir of (await readdir(join(root, 'chunks'))).sort()) {
    for (const name of (await readdir(join(root, 'chunks', dir))).sort()) {
      assert.match(name, /^[0-9a-f]{64}$/, `chunk file name ${name}`);
      assert.equal(name.slice(0, 2), dir, `chunk ${name} is under chunks/${dir}`);
      const bytes = new Uint8Array(await readFile(join(root, 'chunks', dir, name)));
      const h = readChunkHeader(bytes);
      const planes: string[] = [];
      if (h.codec === 'zstd-planes') {
        const p = bytes.subarray(h.headerLength);
        const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
        let at = 1;
        for (let i = 0; i < p[0]!; i++) {
          const codec = PLANE_CODECS[p[at]!];
          assert.ok(codec, `chunk ${name}: plane ${i} has codec byte ${p[at]}`);
          planes.push(codec);
          at += 5 + view.getUint32(at + 1, true);
        }
        assert.equal(at, p.byteLength, `chunk ${name}: plane table covers the payload`);
      }
      out.push({ hash: name, key: `${h.transform}/${h.codec}/w${h.width}`, planes });
    }
  }
  return out;
}

/** The chunk hashes of a manifest's delta chain from `hash` down to its keyframe, with depths. */
function chain(m: SnapshotManifest, hash: string): number[] {
  const depths: number[] = [];
  for (let h: string | undefined = hash; h; h = m.chunks[h]?.base) depths.push(m.chunks[h]?.depth ?? 0);
  return depths;
}

async function collect(pieces: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of pieces) parts.push(p);
  return new Uint8Array(Buffer.concat(parts));
}

describe('a repository written before issue 12 (test/fixtures/repo-v1)', () => {
  let work: string;
  let repo: Repository;
  let manifests: Map<string, SnapshotManifest>;

  before(async () => {
    // Opening or reading must not write, but the last test does: always work on a copy.
    work = await mkdtemp(join(tmpdir(), 'engram-old-format-'));
    await cp(FIXTURE, join(work, 'repo'), { recursive: true });
    repo = await Repository.open(join(work, 'repo'), { fileTensors: decodeFileTensor });
    manifests = new Map();
    for (const s of expected.snapshots) manifests.set(s.id, await repo.manifest(s.id));
  });

  after(async () => {
    await repo?.close();
    await rm(work, { recursive: true, force: true });
  });

  test('has the fs layout, and its chunks use every encoding the old codec wrote', async () => {
    for (const entry of ['config.json', 'chunks', 'snapshots', 'refs', 'heads']) assert.ok(await stat(join(FIXTURE, entry)), entry);
    assert.equal(repo.config.version, 1);
    assert.equal(repo.config.hash, 'sha256');
    assert.deepEqual((await repo.snapshotIds()).sort(), expected.snapshots.map((s) => s.id).sort());

    const objects = await chunkObjects(FIXTURE);
    const kinds = new Set(objects.map((o) => o.key));
    for (const k of [
      'none/raw/w1', 'none/zstd/w1',
      'bytegroup/zstd-planes/w2', 'bytegroup/zstd-planes/w4', 'bytegroup/zstd-planes/w8',
      'sub-delta/zstd/w1', 'sub-delta/zstd-planes/w2', 'sub-delta/zstd-planes/w4',
      'xor-delta/zstd-planes/w8',
    ]) assert.ok(kinds.has(k), `an encoding ${k} chunk (have ${[...kinds].sort().join(', ')})`);
    const planeCodecs = new Set(objects.flatMap((o) => o.planes));
    assert.deepEqual([...planeCodecs].sort(), ['rans', 'raw', 'zstd']);

    // Every chunk on disk is used by some manifest, and every manifest chunk is on disk.
    const onDisk = new Set(objects.map((o) => o.hash));
    const used = new Set([...manifests.values()].flatMap((m) => Object.keys(m.chunks)));
    assert.deepEqual([...used].sort(), [...onDisk].sort());
  });

  test('its manifests hold bundles, delta chains of depth ≥ 2, inline and empty blobs, files, shards, tags and a rolled-back head', async () => {
    const train = expected.snapshots.filter((s) => s.run === 'train').map((s) => manifests.get(s.id)!);
    // Delta chains: fp32 and bf16 weights reach depth ≥ 2, and each manifest lists the whole chain.
    for (const name of ['model/w', 'model/w_bf16', 'model/w_f64', 'data/tokens']) {
      const deepest = Math.max(...train.map((m) => m.chunks[m.tensors[name]!.chunks[0]!.hash]!.depth ?? 0));
      assert.ok(deepest >= 2, `${name} reaches delta depth ${deepest}`);
      for (const m of train) {
        const c = chain(m, m.tensors[name]!.chunks[0]!.hash);
        assert.deepEqual(c, c.map((_, i) => c.length - 1 - i), `${name} chain in ${m.step}`);
      }
    }
    // Bundles: one chunk holds several small tensors at different offsets.
    const first = train[0]!;
    const byChunk = new Map<string, number[]>();
    for (const t of Object.values(first.tensors)) for (const r of t.chunks) byChunk.set(r.hash, [...(byChunk.get(r.hash) ?? []), r.offset]);
    assert.ok([...byChunk.values()].some((offsets) => new Set(offsets).size >= 3), 'a bundle chunk of small tensors');
    assert.equal(typeof first.blobs['state.json']!.inline, 'string');
    assert.equal(first.blobs['empty']!.byteLength, 0);
    assert.ok(first.blobs['tokenizer.json']!.chunks.length >= 1);

    const imported = manifests.get(expected.tags['imported']!)!;
    assert.ok(imported.files.length >= 4);
    for (const kind of ['tensor', 'literal']) assert.ok(imported.files.some((f) => f.segments.some((s) => s.kind === kind)), `a ${kind} segment`);
    assert.ok(Object.values(imported.tensors).some((t) => t.inFile), 'a tensor held only in a file (.npz member)');
    const dist = manifests.get(expected.heads['dist']!)!;
    assert.ok(dist.tensors['model/w']!.shards!.length === 2, 'a sharded tensor');

    assert.deepEqual(Object.fromEntries(await repo.tags()), expected.tags);
    for (const [run, id] of Object.entries(expected.heads)) assert.equal(await repo.resolve(`${run}@latest`), id, `${run}@latest`);
    assert.equal((await repo.headHistory('train')).length, 1);
    const newest = train.at(-1)!;
    assert.notEqual(newest.id, expected.heads['train'], 'train was rolled back below its newest step');
  });

  test('every snapshot restores bit-exactly: tensors, blobs and files, through the library and into a directory', async () => {
    for (const e of expected.snapshots) {
      const snap = await repo.snapshot(e.id);
      assert.equal(snap.run, e.run);
      assert.equal(snap.step, e.step);
      assert.deepEqual(snap.tensorNames().sort(), Object.keys(e.tensors).sort(), `tensors of ${e.run}@${e.step}`);
      for (const [name, hash] of Object.entries(e.tensors)) assert.equal(sha((await snap.tensor(name)).data), hash, `${e.run}@${e.step} tensor ${name}`);
      const all = await snap.tensors();
      for (const [name, hash] of Object.entries(e.tensors)) assert.equal(sha(all.get(name)!.data), hash, `${e.run}@${e.step} tensors() ${name}`);
      assert.deepEqual(snap.blobNames().sort(), Object.keys(e.blobs).sort());
      for (const [name, hash] of Object.entries(e.blobs)) assert.equal(sha(await snap.blob(name)), hash, `${e.run}@${e.step} blob ${name}`);
      assert.deepEqual(snap.files.map((f) => f.path).sort(), Object.keys(e.files).sort());
      for (const [path, f] of Object.entries(e.files)) {
        const bytes = await collect(snap.readFile(path));
        assert.equal(bytes.byteLength, f.size);
        assert.equal(sha(bytes), f.sha256, `${e.run}@${e.step} file ${path}`);
      }

      // What `engram restore` writes: the files, the loose tensors as one safetensors file, the blobs.
      const out = join(work, `out-${e.id}`);
      await restoreSnapshotToDirectory(snap, out);
      for (const [path, f] of Object.entries(e.files)) assert.equal(sha(new Uint8Array(await readFile(join(out, path)))), f.sha256, `restored ${path}`);
      for (const [name, hash] of Object.entries(e.blobs)) assert.equal(sha(new Uint8Array(await readFile(join(out, 'blobs', name)))), hash, `restored blob ${name}`);
      if (Object.keys(e.files).length === 0) {
        const src = await openFileSource(join(out, LOOSE_TENSORS_PATH), LOOSE_TENSORS_PATH);
        try {
          const loose = (await readTensorFile(src)).tensors;
          assert.deepEqual(loose.map((t) => t.name).sort(), Object.keys(e.tensors).sort());
          for (const t of loose) assert.equal(sha(await t.load()), e.tensors[t.name], `restored ${LOOSE_TENSORS_PATH} ${t.name}`);
        } finally {
          await src.close();
        }
      }
      await rm(out, { recursive: true, force: true });
    }
  });

  test('verify finds nothing wrong', async () => {
    const report = await repo.verify();
    assert.deepEqual(report.findings, []);
    assert.equal(report.ok, true);
    assert.equal(report.snapshots, expected.snapshots.length);
  });

  test('a new snapshot on top stores deltas against old chunks, and both read back exactly', async () => {
    const old = new Set((await chunkObjects(join(work, 'repo'))).map((o) => o.hash));
    const headId = expected.heads['train']!;
    const head = await repo.snapshot('train@latest');
    assert.equal(head.id, headId);
    // One more small step from the rolled-back head: fp32 and bf16 weights, bit patterns nudged.
    const next: Record<string, { dtype: 'F32' | 'BF16'; shape: number[]; data: Uint8Array }> = {};
    for (const name of ['model/w', 'model/w_bf16']) {
      const t = await head.tensor(name);
      const data = new Uint8Array(t.data);
      const words = new Uint16Array(data.buffer);
      // The low 16-bit word of each fp32 element, or each bf16 element, moves by a unit or two.
      const stride = t.dtype === 'F32' ? 2 : 1;
      for (let i = 0; i < words.length; i += stride * 3) words[i] = (words[i]! + 1 + (i % 2)) & 0xffff;
      next[name] = { dtype: t.dtype as 'F32' | 'BF16', shape: [...t.shape], data };
    }
    const snap = await repo.save({ run: 'train', step: 250, tensors: next });
    assert.equal(snap.parent, headId);
    const m = snap.manifest;
    const parent = manifests.get(headId)!;
    for (const name of Object.keys(next)) {
      for (const [i, ref] of m.tensors[name]!.chunks.entries()) {
        const info = m.chunks[ref.hash]!;
        const parentRef = parent.tensors[name]!.chunks[i]!;
        assert.ok(!old.has(ref.hash), `${name} chunk ${i} is new`);
        // Against the parent's chunk or a link further down its chain (a keyframe-based scheme may
        // skip links): either way an old chunk object, which the new one needs to decode.
        const lineage: string[] = [];
        for (let h: string | undefined = parentRef.hash; h; h = parent.chunks[h]?.base) lineage.push(h);
        assert.ok(info.base !== undefined && lineage.includes(info.base), `${name} chunk ${i} is a delta against an old chunk of its lineage`);
        assert.ok(old.has(info.base!), 'its base is an old chunk object');
      }
    }

    const fresh = await Repository.open(join(work, 'repo'));
    try {
      const back = await fresh.snapshot(snap.id);
      for (const [name, t] of Object.entries(next)) assert.equal(sha((await back.tensor(name)).data), sha(t.data), `new ${name}`);
      const e = expected.snapshots.find((s) => s.id === headId)!;
      const oldSnap = await fresh.snapshot(headId);
      for (const [name, hash] of Object.entries(e.tensors)) assert.equal(sha((await oldSnap.tensor(name)).data), hash, `old ${name}`);
      const report = await fresh.verify();
      assert.deepEqual(report.findings, []);
      assert.equal(report.snapshots, expected.snapshots.length + 1);
    } finally {
      await fresh.close();
    }
  });

  test('a damaged old chunk fails a directory restore of several files with IntegrityMismatch and leaves nothing behind', async () => {
    const copy = join(work, 'damaged');
    await cp(FIXTURE, copy, { recursive: true });
    const imported = manifests.get(expected.tags['imported']!)!;
    const victim = imported.files.at(-1)!.literal.chunks[0]!.hash;
    const path = join(copy, 'chunks', victim.slice(0, 2), victim);
    const bytes = await readFile(path);
    // One byte short: whatever the encoding, the payload no longer matches its header.
    await writeFile(path, bytes.subarray(0, bytes.byteLength - 1));
    const damaged = await Repository.open(copy, { fileTensors: decodeFileTensor });
    try {
      const out = join(work, 'restored-damaged');
      await assert.rejects(restoreSnapshotToDirectory(await damaged.snapshot('tag:imported'), out), (e) => isEngramError(e, 'IntegrityMismatch') && e.message.includes(victim));
      assert.deepEqual((await readdir(work)).filter((n) => n.includes('restored-damaged')), [], 'no output and no temporary tree');
    } finally {
      await damaged.close();
    }
  });
});
