/** Runs the real CLI in a child process and measures its peak resident memory. */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, collectOutput, tempDir, type CliResult } from './cli.ts';

const PRELOAD = fileURLToPath(new URL('./report-peak-rss.mjs', import.meta.url));

/**
 * Runs `engram args` to completion and returns its result and its peak RSS in bytes (VmHWM,
 * written by the child itself at exit). Throws when the child could not report it: the bound a
 * test checks must never pass for want of a figure.
 */
export async function runCliPeakRss(args: string[]): Promise<CliResult & { readonly peakRss: number }> {
  const file = join(await tempDir('engram-rss-'), 'peak');
  const result = await collectOutput(spawn(process.execPath, ['--import', PRELOAD, BIN, ...args], {
    env: { ...process.env, ENGRAM_PEAK_RSS_FILE: file }, stdio: ['ignore', 'pipe', 'pipe'],
  }));
  const text = await readFile(file, 'utf8');
  const peakRss = Number(text);
  if (!Number.isSafeInteger(peakRss) || peakRss <= 0) throw new Error(`the child reported no peak RSS (${JSON.stringify(text)}); is /proc/self/status there?`);
  return { ...result, peakRss };
}
