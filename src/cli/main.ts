/**
 * @module The `engram` command: parses global options, dispatches to a command, and maps errors to
 * exit codes through the one table in errors/ (ERROR_CODES).
 */
import { ERROR_CODES, isEngramError } from '../errors/index.ts';
import type { CliContext } from './cli-context.ts';
import { convertHelp, runConvert } from './commands/convert.ts';
import { exportHelp, runExport } from './commands/export.ts';
import { forgetHelp, runForget } from './commands/forget.ts';
import { gcHelp, runGc } from './commands/gc.ts';
import { getHelp, runGet } from './commands/get.ts';
import { initHelp, runInit } from './commands/init.ts';
import { logHelp, runLog } from './commands/log.ts';
import { restoreHelp, runRestore } from './commands/restore.ts';
import { rollbackHelp, runRollback } from './commands/rollback.ts';
import { runSave, saveHelp } from './commands/save.ts';
import { runShow, showHelp } from './commands/show.ts';
import { runStats, statsHelp } from './commands/stats.ts';
import { runTag, tagHelp } from './commands/tag.ts';
import { runVerify, verifyHelp } from './commands/verify.ts';

type Command = { run: (ctx: CliContext, argv: string[]) => Promise<number>; help: string };

const COMMANDS: Record<string, Command> = {
  init: { run: runInit, help: initHelp },
  save: { run: runSave, help: saveHelp },
  log: { run: runLog, help: logHelp },
  show: { run: runShow, help: showHelp },
  restore: { run: runRestore, help: restoreHelp },
  get: { run: runGet, help: getHelp },
  export: { run: runExport, help: exportHelp },
  convert: { run: runConvert, help: convertHelp },
  tag: { run: runTag, help: tagHelp },
  rollback: { run: runRollback, help: rollbackHelp },
  verify: { run: runVerify, help: verifyHelp },
  stats: { run: runStats, help: statsHelp },
  forget: { run: runForget, help: forgetHelp },
  gc: { run: runGc, help: gcHelp },
};

const USAGE = `engram — versioned, deduplicated, verified checkpoints of model state

usage: engram [--repo PATH|URL] [--endpoint URL] [--json] <command> [args]

commands:
${Object.values(COMMANDS).map((c) => '  ' + c.help.split('\n')[0]).join('\n')}

The repository is --repo, else $ENGRAM_REPO, else ./.engram. S3: --repo s3://bucket/prefix, with the
server from --endpoint, else $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL (default AWS), keys from
$AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY, region from $AWS_REGION (default us-east-1).
\`engram <command> --help\` explains one command.`;

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

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: { out?: (s: string) => void; err?: (s: string) => void } = {}): Promise<number> {
  const out = io.out ?? ((s: string) => void process.stdout.write(s + '\n'));
  const err = io.err ?? ((s: string) => void process.stderr.write(s + '\n'));
  const g = globals(argv);
  // The S3 store reads its endpoint where the AWS tools do; the flag is this process's override.
  if (g.endpoint !== undefined) process.env.AWS_ENDPOINT_URL_S3 = g.endpoint;
  const [name, ...args] = g.rest;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(USAGE);
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    err(`engram: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return ERROR_CODES.InvalidArgument.exit;
  }
  if (args.includes('--help') || args.includes('-h')) {
    out(cmd.help);
    return 0;
  }
  const ctx: CliContext = { repo: g.repo ?? process.env.ENGRAM_REPO ?? './.engram', json: g.json, out, err };
  try {
    return await cmd.run(ctx, args);
  } catch (e) {
    if (isEngramError(e)) {
      if (g.json) err(JSON.stringify({ error: e.toJSON() }));
      else err(`engram ${name}: ${e.code}: ${e.message}\n  ${ERROR_CODES[e.code].hint}`);
      return e.exitCode;
    }
    const code = (e as NodeJS.ErrnoException)?.code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      err(`engram ${name}: ${(e as Error).message}\n\n${cmd.help}`);
      return ERROR_CODES.InvalidArgument.exit;
    }
    err(`engram ${name}: internal error: ${(e as Error)?.stack ?? String(e)}`);
    return 1;
  }
}

// Run when executed directly (bin/engram.js imports this module and calls main itself).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = await main(process.argv.slice(2));
}
