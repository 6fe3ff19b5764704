/** @module `engram tag`: points a tag at a snapshot, lists tags, or shows a tag's history. */
import { parseArgs } from 'node:util';
import { EngramError } from '../../errors/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';

export const tagHelp = `engram tag <name> <ref> [-m MSG]   point tag <name> at <ref> (moving it if it exists)
engram tag                          list tags
engram tag --history <name>         every move of a tag, oldest first [--json]`;

/** Runs `engram tag`. */
export async function runTag(ctx: CliContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { history: { type: 'boolean' }, message: { type: 'string', short: 'm' } },
  });
  const repo = await openRepo(ctx);
  try {
    if (values.history) {
      if (positionals.length !== 1) throw new EngramError('InvalidArgument', 'usage: engram tag --history <name>', {});
      const events = await repo.tagHistory(positionals[0]!);
      if (events.length === 0) throw new EngramError('NotFound', `no tag ${positionals[0]}; \`engram tag\` lists tags`, { tag: positionals[0] });
      if (ctx.json) printJson(ctx, events);
      else for (const e of events) ctx.out(`${e.at}  ${e.previous ?? '(new)'} -> ${e.target ?? '(deleted)'}${e.message ? `  ${e.message}` : ''}`);
      return 0;
    }
    if (positionals.length === 0) {
      const tags = [...(await repo.tags())].sort(([a], [b]) => (a < b ? -1 : 1));
      if (ctx.json) printJson(ctx, Object.fromEntries(tags));
      else if (tags.length === 0) ctx.out('No tags yet. Add one with: engram tag <name> <ref>');
      else for (const [t, id] of tags) ctx.out(`${t}  ${id}`);
      return 0;
    }
    if (positionals.length !== 2) throw new EngramError('InvalidArgument', 'usage: engram tag <name> <ref>', {});
    const event = await repo.tag(positionals[0]!, positionals[1]!, values.message ?? '');
    if (ctx.json) printJson(ctx, event);
    else ctx.out(`Tag ${event.name} -> ${event.target}${event.previous ? ` (was ${event.previous})` : ''}`);
    return 0;
  } finally {
    await repo.close();
  }
}
