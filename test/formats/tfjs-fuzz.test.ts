/**
 * Fuzzes the TF.js readers (model.json and shard) with mutations of models TensorFlow.js and engram
 * wrote, all in memory: the model.json truncated, bit-flipped, or rewritten (huge, negative,
 * fractional and overflowing shapes; unknown dtypes and quantizations; duplicate names; paths
 * dropped, doubled, reordered, escaping the directory or missing; deeply nested topologies;
 * thousands of weights; weights added or removed so the counts no longer match the shards), and
 * shards truncated, extended, emptied or deleted. Every case must end in a typed EngramError or
 * in a read that rebuilds the file exactly; none may request more than a small
 * multiple of the bytes of the model's files. Seeded, so a failure names its case.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EngramError } from '../../src/errors/index.ts';
import {
  bufferSource, readTensorFile, readTfjsModel, readTfjsShard, rebuildFile, writeTfjsModel, type ByteSource, type IngestedFile,
} from '../../src/formats/index.ts';
import { prng, refusalLabel } from '../helpers/fuzz.ts';

const SEED = Number(process.env.TFJS_FUZZ_SEED ?? 0x7f75);
const CASES = Number(process.env.TFJS_FUZZ_CASES ?? 5000);
const DIR = fileURLToPath(new URL('../fixtures/tfjs/', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Files = Map<string, Uint8Array>;
interface Weight { [k: string]: Json }
interface Group { paths: Json[]; weights: Weight[] }

const SHAPES: Json[] = [[2 ** 53], [2 ** 40, 2 ** 40], [-1], [1.5], ['3'], [], [0], null, 7, [2 ** 31, 2 ** 31, 2 ** 31, 2 ** 31], [1e300], [3, 0, 2 ** 60]];
const DTYPES: Json[] = ['float32', 'int32', 'bool', 'string', 'complex64', 'float16', 'uint8', '', 3, null];
const QUANT: Json[] = [{ dtype: 'uint8' }, { dtype: 'uint8', scale: 0.1, min: -1 }, { dtype: 'uint16', scale: 'x', min: 0 }, { dtype: 'float16' }, { dtype: 'int4' }, 5, [], { dtype: 'uint8', scale: 1e308, min: -1e308 }];
const PATHS: Json[] = ['../escape.bin', '/etc/passwd', 'http://example.com/w.bin', '', 'missing.bin', 'sub/../group1-shard1of1.bin', './model.json', 7, 'C:\\w.bin'];

test(`TF.js readers survive ${CASES} mutated models (seed ${SEED})`, async (t) => {
  const bases: Files[] = [];
  for (const dir of ['layers', 'sharded', 'quantized']) {
    const files: Files = new Map();
    for (const f of await readdir(join(DIR, dir))) files.set(f, new Uint8Array(await readFile(join(DIR, dir, f))));
    bases.push(files);
  }
  const made = writeTfjsModel([
    { name: 'k', dtype: 'F32', shape: [10, 7], data: new Uint8Array(280).map((_, i) => i) },
    { name: 'h', dtype: 'F16', shape: [9], data: new Uint8Array(18).fill(60) },
    { name: 'b', dtype: 'BOOL', shape: [5], data: Uint8Array.from([1, 0, 1, 0, 1]) },
  ], { shardBytes: 64, optimizer: [{ name: 'iter', dtype: 'I32', shape: [], data: Uint8Array.from([1, 0, 0, 0]) }] });
  bases.push(new Map(made.map((f) => [f.path, f.bytes])));

  const rnd = prng(SEED);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const enc = new TextEncoder();

  /** model.json rewritten structurally: one field of one weight or group changed, or the whole shape of the manifest. */
  const rewrite = (bytes: Uint8Array): Uint8Array => {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as { weightsManifest: Group[]; modelTopology?: Json; [k: string]: Json | Group[] | undefined };
    const groups = json.weightsManifest;
    const g = pick(groups);
    const w = g.weights.length > 0 ? pick(g.weights) : undefined;
    switch (int(10)) {
      case 0: if (w) w.shape = pick(SHAPES); break;
      case 1: if (w) w.dtype = pick(DTYPES); break;
      case 2: if (w) w.quantization = pick(QUANT); break;
      case 3: if (w) w.name = pick([g.weights[0]!.name!, 3, null, 'x']); break; // duplicate or non-string names
      case 4: { // paths dropped, doubled, reordered or replaced
        const k = int(4);
        if (k === 0) g.paths.pop();
        else if (k === 1) g.paths.push(pick(g.paths.length > 0 ? g.paths : ['x']));
        else if (k === 2) g.paths.reverse();
        else g.paths[int(g.paths.length + 1)] = pick(PATHS);
        break;
      }
      case 5: { // deep nesting in the topology or the manifest itself
        let v: Json = 1;
        for (let d = int(20_000); d > 0; d--) v = [v];
        if (rnd() < 0.5) json.modelTopology = v;
        else (json as Record<string, Json>).weightsManifest = pick([v, [v], [{ paths: v, weights: [] }], {}, null]);
        break;
      }
      case 6: // wrong counts: a weight added or removed, so the bytes no longer line up with the shards
        if (rnd() < 0.5) g.weights.splice(int(g.weights.length + 1), 0, { name: `extra${int(9)}`, shape: [1 + int(40)], dtype: pick(['float32', 'int32', 'bool']) });
        else g.weights.splice(int(g.weights.length), 1);
        break;
      case 7: // thousands of weights (empty ones fit any shard)
        g.weights.push(...Array.from({ length: 2000 + int(8000) }, (_, i) => ({ name: `z${i}`, shape: [0, i], dtype: 'float32' })));
        break;
      case 8: if (w) w.group = pick([3, 'optimizer', null, 'model']); break;
      default: groups.push(...structuredClone(groups)); // every weight listed twice
    }
    return enc.encode(JSON.stringify(json));
  };

  const mutateModel = (b: Uint8Array): Uint8Array => {
    switch (int(6)) {
      case 0: return b.subarray(0, int(b.length));
      case 1: for (let k = 1 + int(6); k > 0; k--) b[int(b.length)]! ^= 1 << int(8); return b;
      case 2: { const at = int(b.length); for (let k = at; k < Math.min(b.length, at + 1 + int(16)); k++) b[k] = int(256); return b; }
      default:
        // A model already broken by an earlier mutation (not JSON, no groups) stays as it is.
        try {
          return rewrite(b);
        } catch {
          return b;
        }
    }
  };

  const mutateShard = (files: Files, name: string): void => {
    const b = files.get(name);
    if (!b) return; // deleted by an earlier mutation
    switch (int(4)) {
      case 0: files.set(name, b.slice(0, int(b.length))); break;
      case 1: files.set(name, new Uint8Array(Buffer.concat([b, new Uint8Array(1 + int(300)).fill(7)]))); break;
      case 2: files.delete(name); break;
      default: files.set(name, new Uint8Array(0));
    }
  };

  const failures: string[] = [];
  let succeeded = 0;
  const outcomes = new Map<string, number>();
  const tally = (k: string): void => void outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  for (let i = 0; i < CASES && failures.length < 5; i++) {
    const files: Files = new Map([...pick(bases)].map(([k, v]) => [k, v.slice()]));
    const shards = [...files.keys()].filter((f) => f !== 'model.json').sort();
    for (let m = rnd() < 0.2 ? 2 + int(2) : 1; m > 0; m--) {
      if (rnd() < 0.7 || shards.length === 0) files.set('model.json', mutateModel(files.get('model.json')!).slice());
      else mutateShard(files, pick(shards));
    }
    const total = [...files.values()].reduce((n, b) => n + b.length, 0);
    let requested = 0;
    const open = async (p: string): Promise<ByteSource> => {
      const bytes = files.get(p);
      if (!bytes) throw new EngramError('NotFound', `${p} does not exist`, { path: p });
      const src = bufferSource(p, bytes);
      return { ...src, read: (o: number, l: number) => ((requested += l), src.read(o, l)) };
    };
    // Read the model.json, or one of the shards as its model places it.
    const left = shards.filter((f) => files.has(f));
    const target = rnd() < 0.6 || left.length === 0 ? 'model.json' : pick(left);
    try {
      const src = await open(target);
      let file: IngestedFile | undefined;
      if (target === 'model.json') file = i % 8 === 0 ? await readTensorFile({ ...src, name: `case-${i}/model.json` }) : await readTfjsModel(src, { openShard: open });
      else file = await readTfjsShard(src, { models: async () => [...files.keys()], open });
      if (file === undefined) {
        tally('shard kept opaque');
      } else {
        const back = new Map<string, Uint8Array>();
        for (const tensor of file.tensors) {
          const data = await tensor.load();
          if (data.byteLength !== tensor.byteLength) failures.push(`case ${i}: ${tensor.name} loaded ${data.byteLength} bytes, said ${tensor.byteLength}`);
          back.set(tensor.name, data);
        }
        if (Buffer.compare(rebuildFile(file, (n) => back.get(n)!), files.get(target)!) !== 0) failures.push(`case ${i}: ${target} read but does not rebuild`);
        succeeded++;
        tally(`${target === 'model.json' ? 'model' : 'shard'} read as ${file.format}`);
      }
    } catch (e) {
      const label = refusalLabel(e);
      if (label === undefined) failures.push(`case ${i} (${target}): ${e instanceof Error ? e.stack : String(e)}`);
      else tally(label);
    }
    // The bound is on bytes, not seconds (see FuzzRun): the model.json once (twice when a shard looks for its model), each weight's bytes once, the shard's literal once.
    if (requested > 3 * total + 16) failures.push(`case ${i}: requested ${requested} bytes of ${total} bytes of files`);
  }
  t.diagnostic(JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1]))));
  assert.deepEqual(failures, [], `seed ${SEED}`);
  assert.ok(succeeded > CASES / 10, `only ${succeeded} of ${CASES} cases read successfully`);
});
