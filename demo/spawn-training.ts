/**
 * @module spawnTraining: runs demo/train-digits.ts in a child process (through tsx), passes its
 * lines for people on, and follows its `@…` lines so the caller can SIGKILL it at a chosen step.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** How a training child ended and what it said. */
export interface TrainingResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last `@step N` it printed (0 if none). */
  readonly lastStep: number;
  /** The last `@committed N`: the newest checkpoint it reported as committed. */
  readonly lastCommitted: number | undefined;
  /** The step it said it resumed from. */
  readonly resumedFrom: number | undefined;
  /** Its lines for people. */
  readonly lines: readonly string[];
  readonly stderr: string;
}

/** Options of {@link spawnTraining}. */
export interface SpawnTrainingOptions {
  /** Receives each line for people as it arrives. */
  readonly onLine?: (line: string) => void;
  /** Sees every `@step N`; `kill` sends a signal to the child. */
  readonly onStep?: (step: number, kill: (signal: NodeJS.Signals) => void) => void;
  /** Aborting it kills the child (SIGTERM). */
  readonly signal?: AbortSignal;
}

/** Starts `train-digits.ts` with `args` and resolves when the child has exited (by any means). */
export function spawnTraining(args: readonly string[], options: SpawnTrainingOptions = {}): Promise<TrainingResult> {
  const script = fileURLToPath(new URL('./train-digits.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(options.signal ? { signal: options.signal } : {}) });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  let lastStep = 0;
  let lastCommitted: number | undefined;
  let resumedFrom: number | undefined;
  const kill = (signal: NodeJS.Signals): void => void child.kill(signal);
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      const m = /^@(step|committed|resumed) (\d+)$/.exec(line);
      if (!m) {
        lines.push(line);
        options.onLine?.(line);
      } else if (m[1] === 'step') {
        lastStep = Number(m[2]);
        options.onStep?.(lastStep, kill);
      } else if (m[1] === 'committed') {
        lastCommitted = Number(m[2]);
      } else {
        resumedFrom = Number(m[2]);
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    // An abort is reported through 'close' (signal SIGTERM), not as a failure to start.
    child.on('error', (e) => void (e.name === 'AbortError' ? undefined : reject(e)));
    child.on('close', (code, signal) => resolve({ code, signal, lastStep, lastCommitted, resumedFrom, lines, stderr }));
  });
}
