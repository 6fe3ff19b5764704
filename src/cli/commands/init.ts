/** @module `engram init`: creates a repository. */
import { parseArgs } from 'node:util';
import { Repository } from '../../repo/index.ts';
import { printJson, type CliContext } from '../cli-context.ts';

export const initHelp = `engram init [--chunk-size BYTES] [--level N] [--max-delta-depth N]
  Creates a repository at --repo (default ./.engram).
  --max-delta-depth N   longest chain of chunks stored as deltas against the previous checkpoint
                        before a keyframe (default 4; 0 stores every checkpoint whole).`;

/** Runs `engram init`. */
export async function runInit(ctx: CliContext, argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'chunk-size': { type: 'string' }, level: { type: 'string' }, 'max-delta-depth': { type: 'string' } }, strict: true });
  const repo = await Repository.init(ctx.repo, {
    ...(values['chunk-size'] ? { chunkSize: Number(values['chunk-size']) } : {}),
    ...(values.level ? { level: Number(values.level) } : {}),
    ...(values['max-delta-depth'] !== undefined ? { maxDeltaDepth: Number(values['max-delta-depth']) } : {}),
  });
  if (ctx.json) printJson(ctx, { location: repo.store.location, config: repo.config });
  else ctx.out(`Initialized an empty engram repository in ${repo.store.location}\nNext: engram save <files or dirs> --run NAME --step N`);
  await repo.close();
  return 0;
}
