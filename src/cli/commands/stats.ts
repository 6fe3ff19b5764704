/** @module `engram stats`: logical vs stored bytes and the ratios. */
import { parseArgs } from 'node:util';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';
import { plural } from '../plural.ts';

export const statsHelp = `engram stats [--json]
  Logical bytes (what the snapshots stand for), unique bytes after deduplication, stored bytes, and the ratios.`;

/** Runs `engram stats`. */
export async function runStats(ctx: CliContext, argv: string[]): Promise<number> {
  parseArgs({ args: argv, strict: true, options: {} });
  const repo = await openRepo(ctx);
  try {
    const s = await repo.stats();
    if (ctx.json) {
      printJson(ctx, s);
      return 0;
    }
    ctx.out(`snapshots      ${s.snapshots} in ${s.runs} run${s.runs === 1 ? '' : 's'}`);
    ctx.out(`logical        ${formatBytes(s.logicalBytes)}`);
    ctx.out(`unique         ${formatBytes(s.uniqueBytes)}   (dedup ${s.dedupRatio.toFixed(2)}x)`);
    ctx.out(`chunk objects  ${formatBytes(s.chunkBytes)} in ${plural(s.chunks, 'chunk')}   (compression ${s.compressionRatio.toFixed(2)}x)`);
    ctx.out(`stored total   ${formatBytes(s.storedBytes)}   (overall ${s.ratio.toFixed(2)}x)`);
    if (s.orphanChunks > 0) ctx.out(`unreferenced   ${formatBytes(s.orphanBytes)} in ${plural(s.orphanChunks, 'chunk')} (left by interrupted saves or forgotten snapshots)`);
    if (s.reclaimableChunks > 0) ctx.out(`reclaimable    ${formatBytes(s.reclaimableBytes)} in ${plural(s.reclaimableChunks, 'chunk')} older than the gc grace period: \`engram gc\` deletes them`);
    return 0;
  } finally {
    await repo.close();
  }
}
