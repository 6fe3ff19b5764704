/**
 * @module The `engram` command: parses global options, dispatches to a command, and maps errors to
 * exit codes through the one table in errors/ (ERROR_CODES).
 */
// First: sizes the file-system thread pool before anything starts it.
import './thread-pool-size.ts';
import { EngramError, ERROR_CODES, ioError, isEngramError, isErrnoException } from '../errors/index.ts';
import type { CliContext } from './cli-context.ts';
import { COMMANDS } from './commands/index.ts';
import { packageVersion } from './package-version.ts';
import { BROKEN_PIPE_EXIT, guardStdio } from './stdio-guard.ts';


/**
 * The synopsis lines of a command's help: those starting with `engram ` and the option lines that
 * continue them, so the top-level help lists every option of every command.
 */
function synopsis(help: string): string[] {
  const lines: string[] = [];
  let inSynopsis = false;
  for (const line of help.split('\n')) {
    if (line.startsWith('engram ')) inSynopsis = true;
    else if (!(inSynopsis && /^\s+\[/.test(line))) inSynopsis = false;
    if (inSynopsis) lines.push('  ' + line);
  }
  return lines;
}

/** The top-level help (loads every command's module for its synopsis). */
async function usage(): Promise<string> {
  const commands = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  return `engram — versioned, deduplicated, verified checkpoints of model state

usage: engram [--repo PATH|URL] [--endpoint URL] [--json] <command> [args]
       engram --version | --help

commands:
${commands.flatMap((c) => synopsis(c.help)).join('\n')}

The repository is --repo, else $ENGRAM_REPO, else ./.engram. S3: --repo s3://bucket/prefix, with the
server from --endpoint, else $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL (default AWS), keys from
$AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY, region from $AWS_REGION (default us-east-1).
\`engram <command> --help\` explains one command.`;
}

/** Splits out the global options, which may appear anywhere on the line. */
function globals(argv: string[]): { repo?: string; endpoint?: string; json: boolean; rest: string[] } {
  const rest: string[] = [];
  let repo: string | undefined;
  let endpoint: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--json') json = true;
    else if (a === '--repo') repo = argv[++i];
    else if (a.startsWith('--repo=')) repo = a.slice(7);
    else if (a === '--endpoint') endpoint = argv[++i];
    else if (a.startsWith('--endpoint=')) endpoint = a.slice(11);
    else rest.push(a);
  }
  return { ...(repo !== undefined ? { repo } : {}), ...(endpoint !== undefined ? { endpoint } : {}), json, rest };
}

/**
 * The `EngramError` an exception from a command stands for: itself, a system error converted by
 * {@link ioError} (ENOSPC, EACCES, ENOTDIR, … name their path and syscall), or a parseArgs error as
 * `InvalidArgument`; undefined for a bug, which is reported with its stack.
 */
function typedError(e: unknown): EngramError | undefined {
  if (isEngramError(e)) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return new EngramError('InvalidArgument', (e as Error).message, {}, { cause: e });
  if (isErrnoException(e)) return ioError(e);
  return undefined;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: { out?: (s: string) => void; err?: (s: string) => void } = {}): Promise<number> {
  const stdio = io.out ? undefined : guardStdio();
  const out = io.out ?? ((s: string) => void (stdio!.stdoutClosed || process.stdout.write(s + '\n')));
  const err = io.err ?? ((s: string) => void process.stderr.write(s + '\n'));
  const code = await dispatch(argv, out, err);
  // A reader that went away (`engram log | head -1`) ends a successful command the way git's does.
  return code === 0 && stdio?.stdoutClosed ? BROKEN_PIPE_EXIT : code;
}

async function dispatch(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const g = globals(argv);
  // The S3 store reads its endpoint where the AWS tools do; the flag is this process's override.
  if (g.endpoint !== undefined) process.env.AWS_ENDPOINT_URL_S3 = g.endpoint;
  const [name, ...args] = g.rest;
  if (name === '--version' || name === '-V' || name === 'version') {
    out(g.json ? JSON.stringify({ version: packageVersion() }) : `engram ${packageVersion()}`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(await usage());
    return name ? 0 : 2;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    err(`engram: unknown command ${JSON.stringify(name)}\n\n${await usage()}`);
    return ERROR_CODES.InvalidArgument.exit;
  }
  const cmd = await load();
  if (args.includes('--help') || args.includes('-h')) {
    out(cmd.help);
    return 0;
  }
  const ctx: CliContext = { repo: g.repo ?? process.env.ENGRAM_REPO ?? './.engram', json: g.json, out, err };
  try {
    return await cmd.run(ctx, args);
  } catch (e) {
    const typed = typedError(e);
    if (typed) {
      if (g.json) err(JSON.stringify({ error: { ...typed.toJSON(), hint: typed.hint } }));
      else if (!isEngramError(e) && typed.code === 'InvalidArgument') err(`engram ${name}: ${typed.message}\n\n${cmd.help}`);
      else err(`engram ${name}: ${typed.code}: ${typed.message}\n  ${typed.hint}`);
      return typed.exitCode;
    }
    err(`engram ${name}: internal error: ${(e as Error)?.stack ?? String(e)}`);
    return 1;
  }
}

// Run when executed directly (bin/engram.cjs imports this module and calls main itself).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = await main(process.argv.slice(2));
}
