/**
 * The package runs as compiled JavaScript: bin/engram.cjs loads no TypeScript and no loader, a
 * command imports only what it uses, every `exports` entry is JavaScript that plain node imports,
 * and the worker threads start from dist/. What each child loads is recorded by a module resolve
 * hook, so the checks count modules, never milliseconds (bench/startup.ts measures the time).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { BIN, FIXTURES, runCli, tempDir } from '../helpers/cli.ts';

const ROOT = join(BIN, '..', '..');
const MARK = 'engram-test-resolved ';
// Prints every URL the module loader resolves (in the main thread and in every worker, which
// inherit `--import`), one line each on stderr.
const HOOKS = `export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write(${JSON.stringify(MARK)} + r.url + '\\n'); return r; }`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`;
const RECORD = ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`];

/** What a start-up must never load: a TypeScript loader, TypeScript, or a heavy dependency. */
const NEVER_AT_START = [/\/node_modules\/(tsx|esbuild|typescript)\//, /\.ts$/, /@aws-sdk\//, /@tensorflow\//, /\/h5wasm\//, /@mongodb-js\/zstd/, /onnxruntime/];

interface Recorded {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly resolved: readonly string[];
}

/** Runs plain node (no tsx) with the resolve hook and `args`, in the package root. */
function runRecorded(args: readonly string[]): Promise<Recorded> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...RECORD, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = stderr.split('\n');
      resolve({
        code: code ?? -1,
        stdout,
        stderr: lines.filter((l) => !l.startsWith(MARK)).join('\n'),
        resolved: [...new Set(lines.filter((l) => l.startsWith(MARK)).map((l) => l.slice(MARK.length)))],
      });
    });
  });
}

function assertLight(r: Recorded, what: string): void {
  assert.ok(r.resolved.some((u) => u.includes('/dist/cli/main.js')), `${what} ran dist/cli/main.js: ${r.resolved.join(' ')}`);
  const heavy = r.resolved.filter((u) => NEVER_AT_START.some((re) => re.test(u)));
  assert.deepEqual(heavy, [], `${what} loaded what a start-up must not`);
}

test('engram --help and engram log run compiled JavaScript and load no TypeScript, no loader and no heavy dependency', async () => {
  const help = await runRecorded([BIN, '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^ {2}engram log/m);
  assertLight(help, 'engram --help');

  const work = await tempDir();
  const repo = join(work, 'repo');
  assert.equal((await runCli(['init', '--repo', repo])).code, 0);
  const save = await runCli(['save', join(FIXTURES, 'numpy', 'f32_C.npy'), '--repo', repo, '--run', 'r', '--step', '1']);
  assert.equal(save.code, 0, save.stderr);
  const log = await runRecorded([BIN, 'log', '--repo', repo]);
  assert.equal(log.code, 0, log.stderr);
  assert.match(log.stdout, /r@1 \[head\]/);
  assertLight(log, 'engram log');
  // `log` reads manifests: it does not load the format readers (their modules are most of the package).
  assert.deepEqual(log.resolved.filter((u) => u.includes('/dist/formats/')), []);
});

test('every package.json export is JavaScript with a .d.ts beside it, and plain node imports each', async () => {
  const exports = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> }).exports;
  const bin = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;
  assert.deepEqual(bin, { engram: 'bin/engram.cjs' });
  for (const [sub, entry] of Object.entries(exports)) {
    assert.match(entry.default, /^\.\/dist\/.*\.js$/, sub);
    assert.equal(entry.types, entry.default.replace(/\.js$/, '.d.ts'), sub);
  }
  const names = Object.keys(exports).map((sub) => `engram${sub.slice(1)}`);
  const r = await runRecorded(['--input-type=module', '-e', `for (const n of ${JSON.stringify(names)}) { const m = await import(n); console.log(n, Object.keys(m).length); }`]);
  assert.equal(r.code, 0, r.stderr);
  for (const n of names) assert.match(r.stdout, new RegExp(`^${n} [1-9]`, 'm'), `${n} exports something`);
  assert.deepEqual(r.resolved.filter((u) => /\.ts$|\/node_modules\/tsx\//.test(u)), []);
});

test('the core entry point loads none of the optional dependencies (AWS SDK, TF.js, h5wasm)', async () => {
  const r = await runRecorded(['--input-type=module', '-e', `const m = await import('engram'); console.log(typeof m.Repository);`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'function');
  assert.deepEqual(r.resolved.filter((u) => NEVER_AT_START.some((re) => re.test(u))), []);
});

test('from dist/, the codec workers and the checkpoint commit thread start without a TypeScript loader', async () => {
  const work = await tempDir();
  // A file, not \`-e\`: workers inherit node's options, and \`--input-type\` is refused without \`-e\`.
  const dist = (p: string): string => JSON.stringify(pathToFileURL(join(ROOT, 'dist', p)).href);
  const script = join(work, 'threads.mjs');
  await writeFile(script, `
    import { CheckpointManager } from ${dist('train/index.js')};
    import { CodecPool, Repository, Tensor } from ${dist('index.js')};
    const pool = new CodecPool(1);
    await pool.whenReady();
    await pool.close();
    const repo = await Repository.init(${JSON.stringify(join(work, 'repo'))});
    const manager = new CheckpointManager(repo, { run: 'dist' });
    await manager.ready();
    const h = await manager.save(1, { model: { w: Tensor.fromFloat32(new Float32Array([1, 2, 3])) } });
    console.log('committed step', (await h.durable)?.step);
    await manager.close();`);
  const r = await runRecorded([script]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /committed step 1/);
  assert.ok(r.resolved.some((u) => u.endsWith('/dist/codec/codec-worker.js')), 'a codec worker ran dist/codec/codec-worker.js');
  assert.ok(r.resolved.some((u) => u.endsWith('/dist/train/commit-worker.js')), 'the commit thread ran dist/train/commit-worker.js');
  assert.deepEqual(r.resolved.filter((u) => /\.ts$|\/node_modules\/tsx\//.test(u)), []);
});
