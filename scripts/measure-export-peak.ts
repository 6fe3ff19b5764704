/**
 * Measures the peak memory of `engram export` / `engram convert` on a synthetic model, by hand:
 *   node --import tsx scripts/measure-export-peak.ts DIR COUNT MIB [export:FMT|convert:FMT …]
 * writes DIR/model.safetensors (COUNT F32 tensors of MIB MiB each), saves it into DIR/repo, then
 * runs each command in its own process and prints its peak RSS (VmHWM, read by the process itself
 * at exit) above that of `engram show`, a process that only opens the repository. DIR is removed
 * at the end. Default commands: export and convert to safetensors, pt and npz.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { streamTensorFile } from '../src/formats/index.ts';
import { writeFileAtomic } from '../src/repo/index.ts';

const BIN = fileURLToPath(new URL('../bin/engram.cjs', import.meta.url));
const PRELOAD = fileURLToPath(new URL('../test/helpers/report-peak-rss.mjs', import.meta.url));
const MiB = 1 << 20;
const [dir, countArg, mibArg, ...wanted] = process.argv.slice(2);
const count = Number(countArg);
const mib = Number(mibArg);
if (!dir || !(count > 0) || !(mib > 0)) throw new Error('usage: measure-export-peak.ts DIR COUNT MIB [export:FMT|convert:FMT …]');
const commands = wanted.length > 0 ? wanted : ['export:safetensors', 'export:pt', 'export:npz', 'convert:safetensors', 'convert:pt', 'convert:npz'];

/** Runs the CLI and returns its exit code and peak RSS in bytes. */
async function peak(args: string[]): Promise<{ code: number; rss: number }> {
  const file = join(dir!, 'peak-rss');
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', PRELOAD, BIN, ...args], { env: { ...process.env, ENGRAM_PEAK_RSS_FILE: file }, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? -1));
  });
  return { code, rss: Number(await readFile(file, 'utf8')) };
}

await mkdir(dir, { recursive: true });
const n = (mib * MiB) / 4;
const tensors = Array.from({ length: count }, (_, i) => ({
  name: `layer${String(i).padStart(3, '0')}.weight`, dtype: 'F32' as const, shape: [n / 1024, 1024], byteLength: n * 4,
  async load() {
    const w = new Uint32Array(n);
    for (let k = 0; k < n; k++) w[k] = (i << 24) ^ Math.imul(k, 2654435761);
    return new Uint8Array(w.buffer);
  },
}));
const model = join(dir, 'model.safetensors');
const repo = join(dir, 'repo');
try {
  await writeFileAtomic(model, streamTensorFile('safetensors', tensors));
  if ((await peak(['init', '--repo', repo])).code !== 0 || (await peak(['save', model, '--repo', repo, '--run', 'm', '--step', '1'])).code !== 0) throw new Error('init or save failed');
  const base = await peak(['show', 'm@1', '--repo', repo]);
  console.log(`model: ${count} × ${mib} MiB; baseline (show) ${(base.rss / MiB).toFixed(0)} MiB`);
  for (const c of commands) {
    const [cmd, fmt] = c.split(':') as [string, string];
    const out = join(dir, `out.${fmt}`);
    const args = cmd === 'export' ? ['export', 'm@1', '--format', fmt, '-o', out, '--repo', repo] : ['convert', model, out];
    const r = await peak(args);
    console.log(`${c}: exit ${r.code}, peak ${((r.rss - base.rss) / MiB).toFixed(0)} MiB above the baseline`);
    await rm(out, { recursive: true, force: true });
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
