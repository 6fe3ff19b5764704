/**
 * @module Ending a command on SIGINT, SIGTERM or SIGHUP without leaving its save intent or GC
 * marker behind: the repository's held locks are released (repo/ held-locks.ts), one line says so
 * on stderr, and the process exits with 128 + the signal's number, as a shell expects — no stack
 * trace. A second signal while releasing exits at once.
 */
import { constants } from 'node:os';
import { releaseHeldLocks } from '../repo/index.ts';
import type { CliContext } from './cli-context.ts';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Runs `work` with the signal handlers installed, and removes them afterwards. */
export async function withSignalCleanup<T>(ctx: CliContext, command: string, work: () => Promise<T>): Promise<T> {
  let ending = false;
  const handler = (signal: NodeJS.Signals): void => {
    const status = 128 + (constants.signals[signal] ?? 0);
    if (ending) process.exit(status);
    ending = true;
    void releaseHeldLocks().then(
      (n) => ctx.err(`engram ${command}: interrupted by ${signal}${n > 0 ? ' (its lock on the repository was released)' : ''}`),
      () => undefined,
    ).finally(() => process.exit(status));
  };
  for (const s of SIGNALS) process.on(s, handler);
  try {
    return await work();
  } finally {
    for (const s of SIGNALS) process.off(s, handler);
  }
}
