/**
 * @module The torch.save / torch.load baseline, through Debian's python3-torch driven as a child
 * of /usr/bin/python3 — not `python3` from PATH, which may be a pyenv Python without Debian's
 * dist-packages. Absent torch is reported, never an error: `npm run bench:setup` installs it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** Debian's interpreter; ENGRAM_BENCH_PYTHON overrides it (e.g. to check the torch-absent path). */
const PYTHON = process.env.ENGRAM_BENCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch-save-load.py');

/** What the Python side measured. */
export interface TorchBaseline {
  readonly torch: string;
  readonly rawBytes: number;
  readonly fileBytes: number;
  /** Per repetition: torch.save + flush + fsyncs. */
  readonly saveSeconds: number[];
  /** Per repetition: the fsyncs alone. */
  readonly fsyncSeconds: number[];
  /** Per repetition: torch.load from a cold cache. */
  readonly loadSeconds: number[];
  readonly coldCache: string;
  readonly exact: boolean;
  /** CPU time the Python process used, all threads. */
  readonly cpuSeconds: number;
  /** Per repetition: CPU time (user + system, all threads) of the save, and of the cold load. */
  readonly saveCpuSeconds: number[];
  readonly loadCpuSeconds: number[];
}

/** torch's version when /usr/bin/python3 can import it, else undefined. */
export function torchVersion(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The line printed when torch is missing. */
export const TORCH_ABSENT = 'torch baseline: absent (run `npm run bench:setup` to install Debian\'s python3-torch)';

/** Times torch.save(+fsync) and a cold torch.load of the tensor set cached at `src` (no extension), `reps` times. */
export async function torchSaveLoad(src: string, out: string, reps = 1): Promise<TorchBaseline> {
  const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, src, out, String(reps)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as TorchBaseline;
}
