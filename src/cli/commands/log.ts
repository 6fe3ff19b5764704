/** @module `engram log [run]`: lists snapshots, newest first. */
import { parseArgs } from 'node:util';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';

export const logHelp = `engram log [run] [--json]
  Lists snapshots (of one run), newest first, with their tags and metrics. [head] marks each run's
  head, the snapshot run@latest names (after \`engram rollback\`, not necessarily the highest step).`;

/** Runs `engram log`. */
export async function runLog(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} });
  const repo = await openRepo(ctx);
  try {
    const rows = (await repo.log(positionals[0])).reverse();
    const tagsBy = new Map<string, string[]>();
    for (const [tag, id] of await repo.tags()) tagsBy.set(id, [...(tagsBy.get(id) ?? []), tag].sort());
    const heads = new Set((await repo.runHeads()).values());
    if (ctx.json) {
      printJson(ctx, rows.map((r) => ({ ...r, tags: tagsBy.get(r.id) ?? [], head: heads.has(r.id) })));
      return 0;
    }
    if (rows.length === 0) {
      ctx.out(positionals[0] ? `No snapshots in run ${positionals[0]}.` : 'No snapshots yet. Save one with: engram save <files> --run NAME --step N');
      return 0;
    }
    for (const r of rows) {
      const tags = tagsBy.get(r.id);
      const metrics = Object.entries(r.metrics).map(([k, v]) => `${k}=${v}`).join(' ');
      ctx.out(`${r.id}  ${r.run}@${r.step}${heads.has(r.id) ? ' [head]' : ''}  ${r.createdAt.replace('T', ' ').slice(0, 19)}  ${formatBytes(r.bytes)}${tags ? `  (${tags.join(', ')})` : ''}${metrics ? `  ${metrics}` : ''}${r.message ? `  ${r.message}` : ''}`);
    }
    return 0;
  } finally {
    await repo.close();
  }
}
