/** Runs the real `engram` CLI (bin/engram.cjs, which runs the compiled dist/) in a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildJs } from '../../scripts/build.ts';

// The bin runs dist/: bring it up to date with the sources first, so that a CLI test never runs an
// old build (scripts/test.sh builds before the run, so this is the no-op that only hashes sources).
buildJs();

export const BIN = fileURLToPath(new URL('../../bin/engram.cjs', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the CLI without waiting, for tests that kill it. */
export function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Waits for `child` (spawned with piped stdout and stderr) to end, collecting what it printed. */
export function collectOutput(child: ChildProcess): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs the CLI to completion. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return collectOutput(spawnCli(args, env));
}

/** A new empty temporary directory. */
export function tempDir(prefix = 'engram-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Every file under `dir` (relative path → SHA-256). */
export async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(await readFile(p)).digest('hex'));
    }
  };
  await walk(dir);
  return new Map([...out].sort());
}
