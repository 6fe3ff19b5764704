/**
 * @module runChild: runs one of bench/child-*.ts in its own Node process (so its peak RSS is its
 * own) and parses the JSON line it prints. With a profile directory the child runs under
 * --cpu-prof (profiles in <dir>/<script name>/), for the where-does-the-time-go summaries.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Runs bench/<script> with `args`; returns its JSON output. */
export async function runChild<T>(script: string, args: readonly string[], options: { cpuProfDir?: string } = {}): Promise<T> {
  // One directory per child: V8 writes one profile per thread (main, codec workers, loader threads).
  const prof = options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${join(options.cpuProfDir, script.replace(/\.ts$/, ''))}`] : [];
  const { stdout } = await promisify(execFile)(process.execPath, [...prof, '--import', 'tsx', join(HERE, script), ...args], {
    maxBuffer: 16 << 20,
    cwd: join(HERE, '..'),
  });
  const line = stdout.trim().split('\n').pop();
  if (!line) throw new Error(`${script} printed nothing`);
  return JSON.parse(line) as T;
}
