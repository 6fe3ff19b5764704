/**
 * @module The command table of the `engram` CLI: each command's name and a loader for its module.
 * Adding a command is a file here (parse its arguments, call ops/, present the result) and one row.
 */
import type { CliContext } from '../cli-context.ts';

/** A command: what runs it and its help text. */
export type Command = { run: (ctx: CliContext, argv: string[]) => Promise<number>; help: string };

// Each command's module is imported when it is used, so a command loads only what it needs (`log`
// does not load the format readers) and `--version` loads none of them.
export const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  init: () => import('./init.ts').then((m) => ({ run: m.runInit, help: m.initHelp })),
  save: () => import('./save.ts').then((m) => ({ run: m.runSave, help: m.saveHelp })),
  log: () => import('./log.ts').then((m) => ({ run: m.runLog, help: m.logHelp })),
  show: () => import('./show.ts').then((m) => ({ run: m.runShow, help: m.showHelp })),
  restore: () => import('./restore.ts').then((m) => ({ run: m.runRestore, help: m.restoreHelp })),
  get: () => import('./get.ts').then((m) => ({ run: m.runGet, help: m.getHelp })),
  export: () => import('./export.ts').then((m) => ({ run: m.runExport, help: m.exportHelp })),
  convert: () => import('./convert.ts').then((m) => ({ run: m.runConvert, help: m.convertHelp })),
  tag: () => import('./tag.ts').then((m) => ({ run: m.runTag, help: m.tagHelp })),
  rollback: () => import('./rollback.ts').then((m) => ({ run: m.runRollback, help: m.rollbackHelp })),
  verify: () => import('./verify.ts').then((m) => ({ run: m.runVerify, help: m.verifyHelp })),
  stats: () => import('./stats.ts').then((m) => ({ run: m.runStats, help: m.statsHelp })),
  forget: () => import('./forget.ts').then((m) => ({ run: m.runForget, help: m.forgetHelp })),
  gc: () => import('./gc.ts').then((m) => ({ run: m.runGc, help: m.gcHelp })),
  tasks: () => import('./tasks.ts').then((m) => ({ run: m.runTasks, help: m.tasksHelp })),
};
