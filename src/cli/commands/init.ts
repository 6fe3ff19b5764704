/** @module `engram init`: creates a repository. */
import { EngramError, isEngramError } from '../../errors/index.ts';
import { Repository } from '../../repo/index.ts';
import { printJson, type CliContext } from '../cli-context.ts';
import { parseCommandArgs } from '../parse-command-args.ts';
import { parseIntOption } from '../parse-int-option.ts';

export const initHelp = `engram init [--chunk-size BYTES] [--level N] [--max-delta-depth N] [--delta-keyframe RULE]
  Creates a repository at --repo (default ./.engram).
  --max-delta-depth N   longest chain of chunks stored as deltas (a restore decodes at most N + 1
                        objects per chunk; default 2; 0 stores every checkpoint whole).
  --delta-keyframe RULE when a full chain gives way to a keyframe: stops-paying (the default: the
                        next delta is against the chain's first delta until deltas stop paying) or
                        chain-full (at once; the default when --max-delta-depth alone is given).`;

function deltaKeyframeOption(v: string): 'chain-full' | 'stops-paying' {
  if (v === 'chain-full' || v === 'stops-paying') return v;
  throw new EngramError('InvalidArgument', `--delta-keyframe must be stops-paying or chain-full, got ${JSON.stringify(v)}`, { option: '--delta-keyframe' });
}

/** Runs `engram init`. */
export async function runInit(ctx: CliContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { 'chunk-size': { type: 'string' }, level: { type: 'string' }, 'max-delta-depth': { type: 'string' }, 'delta-keyframe': { type: 'string' } });
  if (positionals.length > 0) throw new EngramError('InvalidArgument', `engram init takes no arguments (the repository is --repo), got ${JSON.stringify(positionals[0])}`, {});
  // The ranges config.json accepts (repo/config.ts), checked here so the message names the option.
  const options = {
    ...(values['chunk-size'] !== undefined ? { chunkSize: parseIntOption('--chunk-size', values['chunk-size'], { min: 1, max: 1024 * 1024 * 1024 }) } : {}),
    ...(values.level !== undefined ? { level: parseIntOption('--level', values.level, { min: 1, max: 22 }) } : {}),
    ...(values['max-delta-depth'] !== undefined ? { maxDeltaDepth: parseIntOption('--max-delta-depth', values['max-delta-depth'], { max: 64 }) } : {}),
    ...(values['delta-keyframe'] !== undefined ? { deltaKeyframe: deltaKeyframeOption(values['delta-keyframe']) } : {}),
  };
  let repo;
  try {
    repo = await Repository.init(ctx.repo, options);
  } catch (e) {
    if (isEngramError(e, 'Conflict')) {
      throw new EngramError('Conflict', e.message, e.data, { cause: e, hint: `Nothing was changed. Use it as it is (engram log --repo ${ctx.repo}), or give init another --repo path.` });
    }
    throw e;
  }
  if (ctx.json) printJson(ctx, { location: repo.store.location, config: repo.config });
  else ctx.out(`Initialized an empty engram repository in ${repo.store.location}\nNext: engram save <files or dirs> --run NAME --step N`);
  await repo.close();
  return 0;
}
