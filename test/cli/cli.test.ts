import assert from 'node:assert/strict';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { bufferSource, readTensorFile } from '../../src/formats/index.ts';
import { FIXTURES, hashTree, runCli, tempDir } from '../helpers/cli.ts';

const FORMAT_ERROR = 4;
const INTEGRITY = 5;

describe('engram CLI', () => {
  let work: string;
  let repo: string;
  let input: string;

  before(async () => {
    work = await tempDir();
    repo = join(work, 'repo');
    input = join(work, 'ckpt');
    await cp(join(FIXTURES, 'numpy'), join(input, 'numpy'), { recursive: true });
    await cp(join(FIXTURES, 'safetensors'), join(input, 'safetensors'), { recursive: true });
    const init = await runCli(['init', '--repo', repo]);
    assert.equal(init.code, 0, init.stderr);
  });

  test('every safetensors, .npy and .npz file comes back byte-identical', async () => {
    const save = await runCli(['save', input, '--repo', repo, '--run', 'corpus', '--step', '1', '--metric', 'loss=0.25', '--meta', 'source=fixtures', '--tag', 'first', '-m', 'corpus', '--json']);
    assert.equal(save.code, 0, save.stderr);
    const saved = JSON.parse(save.stdout) as { id: string; files: number };
    const out = join(work, 'restored');
    const restore = await runCli(['restore', 'corpus@1', out, '--repo', repo]);
    assert.equal(restore.code, 0, restore.stderr);
    const want = await hashTree(input);
    assert.ok(want.size >= 15, `only ${want.size} fixture files`);
    assert.equal(saved.files, want.size);
    assert.deepEqual(await hashTree(out), want);

    const show = JSON.parse((await runCli(['show', 'tag:first', '--repo', repo, '--json'])).stdout) as { id: string; metrics: Record<string, number>; meta: Record<string, string>; tags: string[] };
    assert.equal(show.id, saved.id);
    assert.deepEqual(show.metrics, { loss: 0.25 });
    assert.deepEqual(show.meta, { source: 'fixtures' });
    assert.deepEqual(show.tags, ['first']);
    const log = JSON.parse((await runCli(['log', 'corpus', '--repo', repo, '--json'])).stdout) as { id: string }[];
    assert.equal(log[0]!.id, saved.id);
  });

  test('saving the same directory twice grows the stored bytes by less than 1%', async () => {
    await runCli(['save', input, '--repo', repo, '--run', 'twice', '--step', '1']);
    const a = JSON.parse((await runCli(['stats', '--repo', repo, '--json'])).stdout) as { storedBytes: number; snapshots: number };
    const save = await runCli(['save', input, '--repo', repo, '--run', 'twice', '--step', '2']);
    assert.equal(save.code, 0, save.stderr);
    const b = JSON.parse((await runCli(['stats', '--repo', repo, '--json'])).stdout) as { storedBytes: number; snapshots: number };
    assert.equal(b.snapshots, a.snapshots + 1);
    const growth = (b.storedBytes - a.storedBytes) / a.storedBytes;
    assert.ok(growth < 0.01, `grew by ${(growth * 100).toFixed(3)}%`);
  });

  test('get writes one tensor as .npy and .safetensors', async () => {
    const dir = await tempDir();
    const npy = join(dir, 'w.npy');
    const r1 = await runCli(['get', 'corpus@latest', 'numpy/f32_C.npy', '-o', npy, '--repo', repo]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.deepEqual(await readFile(npy), await readFile(join(input, 'numpy/f32_C.npy')));
    const st = join(dir, 'w.safetensors');
    const r2 = await runCli(['get', 'corpus@latest', 'numpy/f32_F.npy', '-o', st, '--repo', repo, '--json']);
    assert.equal(r2.code, 0, r2.stderr);
    const file = await readTensorFile(bufferSource(st, await readFile(st)));
    const orig = await readTensorFile(bufferSource('f', await readFile(join(input, 'numpy/f32_F.npy'))));
    assert.deepEqual(Buffer.from(await file.tensors[0]!.load()), Buffer.from(await orig.tensors[0]!.load()));
    const r3 = await runCli(['get', 'corpus@latest', 'no-such-tensor', '-o', st, '--repo', repo]);
    assert.equal(r3.code, 3, r3.stderr);
  });

  test('tags move and keep their history', async () => {
    const t1 = await runCli(['tag', 'prod', 'corpus@1', '--repo', repo]);
    assert.equal(t1.code, 0, t1.stderr);
    const t2 = await runCli(['tag', 'prod', 'twice@2', '--repo', repo, '-m', 'promote']);
    assert.equal(t2.code, 0, t2.stderr);
    const hist = JSON.parse((await runCli(['tag', '--history', 'prod', '--repo', repo, '--json'])).stdout) as { target: string; message: string }[];
    assert.equal(hist.length, 2);
    assert.equal(hist[1]!.message, 'promote');
    const show = JSON.parse((await runCli(['show', 'prod', '--repo', repo, '--json'])).stdout) as { run: string; step: number };
    assert.deepEqual([show.run, show.step], ['twice', 2]);
  });

  test('errors have codes: unknown ref, missing repository, bad arguments', async () => {
    assert.equal((await runCli(['show', 'nope@3', '--repo', repo])).code, 3);
    const missing = await runCli(['log', '--repo', join(work, 'none')]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /engram init/);
    assert.equal((await runCli(['save', input, '--repo', repo])).code, 2);
    assert.equal((await runCli(['frobnicate'])).code, 2);
  });

  test('one flipped byte in a chunk: verify names the tensor, restore and get fail without leaving output', async () => {
    const r = join(work, 'flip-repo');
    assert.equal((await runCli(['init', '--repo', r])).code, 0);
    const src = join(work, 'flip-src');
    await cp(join(FIXTURES, 'safetensors'), src, { recursive: true });
    const save = await runCli(['save', src, '--repo', r, '--run', 'x', '--step', '1', '--json']);
    assert.equal(save.code, 0, save.stderr);
    const show = JSON.parse((await runCli(['show', 'x@1', '--repo', r, '--json'])).stdout) as { tensors: Record<string, { chunks: { hash: string }[] }> };
    const [name, entry] = Object.entries(show.tensors).sort((a, b) => b[1].chunks.length - a[1].chunks.length)[0]!;
    const hash = entry.chunks[0]!.hash;
    const key = join(r, 'chunks', hash.slice(0, 2), hash);
    const bytes = await readFile(key);
    bytes[Math.floor(bytes.length / 2)] ^= 0x10;
    await writeFile(key, bytes);

    const verify = await runCli(['verify', '--repo', r]);
    assert.equal(verify.code, INTEGRITY);
    assert.ok(verify.stdout.includes(name), verify.stdout);
    const out = join(work, 'flip-out');
    const restore = await runCli(['restore', 'x@1', out, '--repo', r]);
    assert.equal(restore.code, INTEGRITY, restore.stderr);
    assert.match(restore.stderr, /IntegrityMismatch/);
    const file = name.slice(0, name.indexOf(':'));
    const left = await readdir(out).catch(() => [] as string[]);
    assert.ok(!left.includes(file), `partial ${file} left behind`);
    assert.ok(!left.some((f) => f.includes('.tmp')), `temp file left: ${left.join(', ')}`);
    const getOut = join(work, 'flip-get.npy');
    const get = await runCli(['get', 'x@1', name, '-o', getOut, '--repo', r]);
    assert.equal(get.code, INTEGRITY, get.stderr);
    assert.ok(get.stderr.includes(name));
    await assert.rejects(readFile(getOut));
  });

  test('malformed files are a FormatError and leave the repository unchanged', async () => {
    const r = join(work, 'bad-repo');
    assert.equal((await runCli(['init', '--repo', r])).code, 0);
    const good = await readFile(join(FIXTURES, 'safetensors', (await readdir(join(FIXTURES, 'safetensors'))).find((f) => f.endsWith('.safetensors'))!));
    const headerLen = Number(good.readBigUInt64LE(0));
    const header = JSON.parse(good.subarray(8, 8 + headerLen).toString()) as Record<string, { data_offsets?: [number, number]; shape?: number[] }>;
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const withHeader = (h: unknown): Buffer => {
      const json = Buffer.from(JSON.stringify(h));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      return Buffer.concat([len, json, good.subarray(8 + headerLen)]);
    };
    const hugeHeader = Buffer.alloc(16);
    hugeHeader.writeBigUInt64LE(200_000_000n);
    const longer = Buffer.from(good);
    longer.writeBigUInt64LE(BigInt(good.length * 2));
    const first = names[0]!;
    const cases: Record<string, Buffer> = {
      'truncated.safetensors': good.subarray(0, Math.floor(good.length / 2)),
      'header-longer-than-file.safetensors': longer,
      'header-over-100mb.safetensors': hugeHeader,
      'invalid-json.safetensors': Buffer.concat([good.subarray(0, 8), Buffer.from('{"a":'.padEnd(headerLen, ' ')), good.subarray(8 + headerLen)]),
      'out-of-range.safetensors': withHeader({ ...header, [first]: { ...header[first], data_offsets: [0, 1e12] } }),
      'shape-mismatch.safetensors': withHeader({ ...header, [first]: { ...header[first], shape: [...(header[first]!.shape ?? []), 3] } }),
      'truncated.npy': (await readFile(join(FIXTURES, 'numpy', 'f32_C.npy'))).subarray(0, 70),
    };
    if (names.length > 1) {
      const a = header[names[0]!]!.data_offsets!;
      cases['overlapping.safetensors'] = withHeader({ ...header, [names[1]!]: { ...header[names[1]!], data_offsets: [a[0], a[0] + (header[names[1]!]!.data_offsets![1] - header[names[1]!]!.data_offsets![0])] } });
    }
    const before = await hashTree(r);
    for (const [fname, bytes] of Object.entries(cases)) {
      const dir = await tempDir();
      await writeFile(join(dir, fname), bytes);
      const res = await runCli(['save', dir, '--repo', r, '--run', 'bad', '--step', '1']);
      assert.equal(res.code, FORMAT_ERROR, `${fname}: exit ${res.code}: ${res.stderr}`);
      assert.match(res.stderr, /FormatError/, fname);
      assert.ok(res.stderr.includes(fname), `${fname}: message does not name the file: ${res.stderr}`);
      assert.deepEqual(await hashTree(r), before, `${fname} changed the repository`);
    }
  });
});
