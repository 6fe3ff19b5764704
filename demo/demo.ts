/**
 * `npm run demo`: saves a few checkpoints of a generated model into a local repository, then shows
 * the log and storage figures, restores a checkpoint byte for byte and verifies the repository.
 * (The TensorFlow.js training demo will replace the generated model.)
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { main } from '../src/cli/main.ts';
import { writeSafetensors } from '../src/formats/index.ts';
import { Repository, Tensor } from '../src/index.ts';

const root = resolve(process.env.ENGRAM_DEMO_DIR ?? 'demo-output');
const repoPath = join(root, 'repo');
const say = (s: string): void => void process.stdout.write(`\n== ${s}\n`);

/** Seeded gaussian values, like freshly initialised weights. */
function gaussian(n: number, seed: number, std: number): Float32Array {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * Math.cos(2 * Math.PI * next());
  return out;
}

async function run(args: string[]): Promise<void> {
  process.stdout.write(`$ engram ${args.join(' ')}\n`);
  const code = await main([...args, '--repo', repoPath]);
  if (code !== 0) throw new Error(`engram ${args[0]} exited ${code}`);
}

await rm(root, { recursive: true, force: true });
await mkdir(root, { recursive: true });

say('A model: a 3-layer MLP (about 9 MB of float32 weights)');
const shapes: Record<string, number[]> = {
  'model/l1/kernel': [784, 1024], 'model/l1/bias': [1024],
  'model/l2/kernel': [1024, 1024], 'model/l2/bias': [1024],
  'model/l3/kernel': [1024, 10], 'model/l3/bias': [10],
};
const weights = new Map(Object.entries(shapes).map(([name, shape], i) => [name, gaussian(shape.reduce((a, b) => a * b, 1), i + 1, 0.03)]));

await run(['init']);
const repo = await Repository.open(repoPath);
say('Saving 4 checkpoints of run "mlp" through the library; training changes only the last layers');
let loss = 2.3;
for (let step = 100; step <= 400; step += 100) {
  // "Training": the head layers move every step, the first layer is frozen after step 100.
  for (const [name, w] of weights) {
    if (step > 100 && name.startsWith('model/l1')) continue;
    const delta = gaussian(w.length, step * 7 + name.length, 0.001);
    for (let i = 0; i < w.length; i++) w[i]! += delta[i]!;
  }
  loss *= 0.7;
  const tensors = Object.fromEntries([...weights].map(([name, w]) => [name, Tensor.fromFloat32(w, shapes[name])]));
  const snap = await repo.save({
    run: 'mlp', step, tensors, metrics: { loss: Number(loss.toFixed(4)) },
    blobs: { 'data/position': new TextEncoder().encode(JSON.stringify({ epoch: step / 100, index: 0 })) },
    message: `step ${step}`,
  });
  process.stdout.write(`saved mlp@${step} as ${snap.id}\n`);
}
await repo.close();

say('Saving a safetensors file from disk through the CLI (kept byte for byte)');
const ckptDir = join(root, 'checkpoint');
await mkdir(ckptDir, { recursive: true });
await writeFile(join(ckptDir, 'model.safetensors'), writeSafetensors([...weights].map(([name, w]) => ({
  name: name.replace('model/', '').replace('/', '.'), dtype: 'F32' as const, shape: shapes[name]!, data: new Uint8Array(w.buffer),
})), { format: 'pt' }));
await writeFile(join(ckptDir, 'config.json'), JSON.stringify({ layers: [784, 1024, 1024, 10] }, null, 2));
await run(['save', ckptDir, '--run', 'exported', '--step', '400', '--tag', 'prod', '-m', 'the same weights as a file']);

say('The log');
await run(['log']);
say('The best checkpoint by loss, and its lineage');
await run(['show', 'mlp@best:loss']);
say('Storage: the file shares every tensor with mlp@400, so it costs almost nothing');
await run(['stats']);

say('Restoring the file snapshot and comparing SHA-256');
const out = join(root, 'restored');
await run(['restore', 'tag:prod', out]);
for (const f of ['model.safetensors', 'config.json']) {
  const a = createHash('sha256').update(await readFile(join(ckptDir, f))).digest('hex');
  const b = createHash('sha256').update(await readFile(join(out, f))).digest('hex');
  process.stdout.write(`${f}: ${a === b ? 'identical' : 'DIFFERENT'} (${b.slice(0, 16)}…)\n`);
  if (a !== b) process.exit(1);
}
say('Loading one tensor lazily (reads only its chunks)');
await run(['get', 'mlp@200', 'model/l3/kernel', '-o', join(root, 'l3.npy')]);
say('Verifying every chunk of every snapshot');
await run(['verify']);
say(`Done. Explore it yourself: npx engram --repo ${repoPath} log`);
