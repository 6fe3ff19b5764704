/** @module `engram gc`: deletes chunk objects no snapshot needs, safely alongside saves in other processes. */
import { EngramError } from '../../errors/index.ts';
import { DEFAULT_GRACE_MS } from '../../repo/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';
import { parseCommandArgs } from '../parse-command-args.ts';
import { formatBytes } from '../format-bytes.ts';
import { plural } from '../plural.ts';
import { formatDuration, parseDuration } from '../parse-duration.ts';
import { withSignalCleanup } from '../on-signal.ts';
import { ProgressBar } from '../progress-bar.ts';

export const gcHelp = `engram gc [--grace 1h|30m|0s] [--dry-run] [--json]
  Deletes chunk objects that no snapshot needs (after \`engram forget\`, or left by interrupted saves)
  and that are older than the grace period (default ${formatDuration(DEFAULT_GRACE_MS)}). Safe while other processes save: if
  a save is in flight, gc deletes nothing and says so (exit 0); run it again later.`;

/** Runs `engram gc`. */
export async function runGc(ctx: CliContext, argv: string[]): Promise<number> {
  return withSignalCleanup(ctx, 'gc', () => gcCommand(ctx, argv));
}

async function gcCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { grace: { type: 'string' }, 'dry-run': { type: 'boolean' } });
  if (positionals.length > 0) throw new EngramError('InvalidArgument', `engram gc takes no arguments, got ${JSON.stringify(positionals[0])}`, {});
  const graceMs = values.grace !== undefined ? parseDuration(values.grace, '--grace') : DEFAULT_GRACE_MS;
  const repo = await openRepo(ctx);
  try {
    const bars = { mark: new ProgressBar('reading manifests'), sweep: new ProgressBar('deleting chunks') };
    const report = await repo.gc({
      graceMs, dryRun: values['dry-run'] === true,
      onProgress: (p) => {
        if (p.phase === 'sweep') bars.mark.done();
        bars[p.phase].update(p.done, p.total);
      },
    });
    bars.mark.done();
    bars.sweep.done();
    if (ctx.json) {
      printJson(ctx, report);
      return 0;
    }
    const verb = report.dryRun ? 'would delete' : 'deleted';
    ctx.out(`${report.chunks} chunk objects: ${report.marked} needed by ${plural(report.snapshots, 'snapshot')}, ${report.unreferenced} unreferenced (${formatBytes(report.unreferencedBytes)})`);
    if (!report.skipped || report.skipped.reason === 'deadline' || report.dryRun) {
      ctx.out(`${verb} ${plural(report.swept, 'chunk')} (${formatBytes(report.sweptBytes)})`);
    }
    if (report.keptYoung > 0) {
      ctx.out(`kept ${plural(report.keptYoung, 'unreferenced chunk')} (${formatBytes(report.keptYoungBytes)}) younger than the ${formatDuration(report.graceMs)} grace period; \`engram gc --grace 0s\` reclaims them now (saves in flight stay safe: gc deletes nothing while one runs)`);
    }
    if (report.dryRun && report.savesInFlight > 0) ctx.out(`${report.savesInFlight} saves are in flight now: a real run would delete nothing until they finish`);
    if (report.staleIntentsRemoved > 0) ctx.out(`removed ${report.staleIntentsRemoved} intents of crashed saves`);
    if (report.missing > 0) ctx.out(`WARNING: ${report.missing} delta bases live snapshots need are missing; run \`engram verify\``);
    if (report.skipped) ctx.out(report.skipped.message);
    if (report.dryRun) ctx.out('Dry run: nothing was deleted.');
    return 0;
  } finally {
    await repo.close();
  }
}
