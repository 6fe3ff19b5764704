/**
 * @module Keeps a closed stdout (`engram log | head -1`) from crashing the CLI with an EPIPE stack
 * trace.
 *
 * git is killed by SIGPIPE when its reader goes away: no message, and the shell reports status 141
 * (128 + SIGPIPE). Node ignores SIGPIPE and reports the broken pipe as an 'error' event on the
 * stream instead, which crashes the process when nobody listens. So the CLI listens: once stdout is
 * gone it drops further output and ends with 141, as git does; stderr errors are ignored (there is
 * nowhere left to report them).
 */

/** The exit status of a command whose stdout reader went away: 128 + SIGPIPE, as git's. */
export const BROKEN_PIPE_EXIT = 141;

/** Whether stdout still has a reader. */
export interface StdioGuard {
  readonly stdoutClosed: boolean;
}

let guard: { stdoutClosed: boolean } | undefined;

/** Installs the listeners once per process and returns the guard. */
export function guardStdio(): StdioGuard {
  if (guard) return guard;
  const g = { stdoutClosed: false };
  guard = g;
  process.stdout.on('error', () => {
    g.stdoutClosed = true;
  });
  process.stderr.on('error', () => {});
  return g;
}
