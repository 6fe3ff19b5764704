/** @module `engram verify`: re-hashes every chunk of every snapshot. */
import { parseArgs } from 'node:util';
import { ERROR_CODES } from '../../errors/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';
import { plural } from '../plural.ts';
import { ProgressBar } from '../progress-bar.ts';

export const verifyHelp = `engram verify [--json]
  Reads and re-hashes every chunk every snapshot needs. Exits ${ERROR_CODES.IntegrityMismatch.exit} and names each damaged tensor when it finds damage.`;

/** Runs `engram verify`. */
export async function runVerify(ctx: CliContext, argv: string[]): Promise<number> {
  parseArgs({ args: argv, strict: true, options: {} });
  const repo = await openRepo(ctx);
  try {
    const bar = new ProgressBar('verifying');
    const report = await repo.verify({ onProgress: (d, t) => bar.update(d, t) });
    bar.done();
    if (ctx.json) printJson(ctx, report);
    else {
      for (const f of report.findings) ctx.out(`DAMAGED: ${f.message}`);
      ctx.out(`${report.ok ? 'OK' : 'FAILED'}: ${plural(report.snapshots, 'snapshot')}, ${plural(report.chunks, 'chunk')}, ${formatBytes(report.bytes)} checked, ${plural(report.findings.length, 'problem')}`);
      if (!report.ok) ctx.out('The damaged snapshots above cannot be restored; other snapshots are intact.');
    }
    return report.ok ? 0 : ERROR_CODES.IntegrityMismatch.exit;
  } finally {
    await repo.close();
  }
}
