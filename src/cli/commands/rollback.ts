/** @module `engram rollback <run> <ref>`: makes an earlier snapshot the head of its run again. */
import { parseArgs } from 'node:util';
import { EngramError } from '../../errors/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';

/** Usage text of `engram rollback`. */
export const rollbackHelp = `engram rollback <run> <ref> [-m MSG] [--json]
  Makes the snapshot <ref> names the head of <run>: run@latest resolves to it and the next save
  descends from it, until a newer save in the run. Nothing is deleted; the move is appended to the
  run's head history.`;

/** Runs `engram rollback`. */
export async function runRollback(ctx: CliContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true, options: { message: { type: 'string', short: 'm' } },
  });
  if (positionals.length !== 2) throw new EngramError('InvalidArgument', 'usage: engram rollback <run> <ref> [-m MSG]', {});
  const [run, ref] = positionals as [string, string];
  const repo = await openRepo(ctx);
  try {
    const event = await repo.rollback(run, ref, values.message ?? '');
    if (ctx.json) {
      printJson(ctx, event);
      return 0;
    }
    const target = await repo.manifest(event.target!);
    const was = event.previous ? await repo.manifest(event.previous).then((m) => `${m.run}@${m.step} (${m.id})`, () => event.previous) : '(none)';
    ctx.out(`Head of run ${run} -> ${target.run}@${target.step} (${target.id}), was ${was}`);
    return 0;
  } finally {
    await repo.close();
  }
}
