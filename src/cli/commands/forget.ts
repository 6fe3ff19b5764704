/** @module `engram forget`: applies retention rules, deleting the manifests of snapshots no rule keeps. */
import { EngramError } from '../../errors/index.ts';
import type { RetentionDecision, RetentionPolicy, RetentionRule } from '../../repo/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';
import { parseCommandArgs } from '../parse-command-args.ts';
import { plural } from '../plural.ts';
import { parseDuration } from '../parse-duration.ts';
import { parseIntOption } from '../parse-int-option.ts';

export const forgetHelp = `engram forget [--run R] [--keep-last N] [--keep-every-steps N] [--keep-every-seconds T]
              [--keep-best METRIC[:min|:max] [--best-n N] [--forget-unmeasured]] [--keep-steps 1,5,9]
              [--no-keep-tagged] [--no-keep-newest] [--all] [--dry-run] [--json]
  Forgets the snapshots (of run R, or of every run) that no --keep rule keeps: a snapshot stays if
  any rule keeps it. Tagged snapshots and each run's newest always stay unless --no-keep-tagged /
  --no-keep-newest. --keep-every-seconds takes a duration (3600, 90m, 1d); --keep-best keeps the
  --best-n (default 1) best, minimising losses and errors unless :max is given, and keeps snapshots
  without the metric unless --forget-unmeasured. With no --keep rule at all, --all is required.
  Only manifests are deleted: run \`engram gc\` afterwards to reclaim the space.`;

function count(text: string | undefined, option: string): number | undefined {
  return text === undefined ? undefined : parseIntOption(option, text, { min: 1 });
}

/** The rules the options ask for, in the order the help lists them. */
function rulesOf(values: Record<string, string | boolean | undefined>): RetentionRule[] {
  const rules: RetentionRule[] = [];
  const last = count(values['keep-last'] as string | undefined, '--keep-last');
  if (last !== undefined) rules.push({ kind: 'last', n: last });
  const everySteps = count(values['keep-every-steps'] as string | undefined, '--keep-every-steps');
  if (everySteps !== undefined) rules.push({ kind: 'every-steps', n: everySteps });
  const everySeconds = values['keep-every-seconds'] as string | undefined;
  if (everySeconds !== undefined) {
    const ms = parseDuration(everySeconds, '--keep-every-seconds');
    if (ms <= 0) throw new EngramError('InvalidArgument', '--keep-every-seconds must be more than 0', {});
    rules.push({ kind: 'every-seconds', seconds: ms / 1000 });
  }
  const best = values['keep-best'] as string | undefined;
  const bestN = count(values['best-n'] as string | undefined, '--best-n');
  if (best !== undefined) {
    const m = /^(.+?)(?::(min|max))?$/.exec(best);
    if (!m || m[1] === '') throw new EngramError('InvalidArgument', `--keep-best expects METRIC, METRIC:min or METRIC:max, got ${JSON.stringify(best)}`, {});
    rules.push({
      kind: 'best', metric: m[1]!, n: bestN ?? 1, ...(m[2] ? { mode: m[2] as 'min' | 'max' } : {}),
      ...(values['forget-unmeasured'] ? { keepUnmeasured: false } : {}),
    });
  } else if (bestN !== undefined || values['forget-unmeasured']) {
    throw new EngramError('InvalidArgument', '--best-n and --forget-unmeasured go with --keep-best METRIC', {});
  }
  const steps = values['keep-steps'] as string | undefined;
  if (steps !== undefined) {
    const list = steps.split(',').map((s) => s.trim());
    if (list.some((s) => !/^\d+$/.test(s))) throw new EngramError('InvalidArgument', `--keep-steps expects steps (integers from 0 to ${Number.MAX_SAFE_INTEGER}) separated by commas, got ${JSON.stringify(steps)}`, {});
    rules.push({ kind: 'steps', steps: list.map(Number) });
  }
  return rules;
}

/** `run@step` order, the way a person scans a run. */
const byRunStep = (a: RetentionDecision, b: RetentionDecision): number =>
  (a.run < b.run ? -1 : a.run > b.run ? 1 : a.step - b.step || (a.id < b.id ? -1 : 1));

/** Runs `engram forget`. */
export async function runForget(ctx: CliContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
      run: { type: 'string' },
      'keep-last': { type: 'string' },
      'keep-every-steps': { type: 'string' },
      'keep-every-seconds': { type: 'string' },
      'keep-best': { type: 'string' },
      'best-n': { type: 'string' },
      'forget-unmeasured': { type: 'boolean' },
      'keep-steps': { type: 'string' },
      'no-keep-tagged': { type: 'boolean' },
      'no-keep-newest': { type: 'boolean' },
      all: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
  });
  if (positionals.length > 0) throw new EngramError('InvalidArgument', `engram forget takes only options (the run is --run R), got ${JSON.stringify(positionals[0])}`, {});
  const rules = rulesOf(values);
  if (rules.length === 0 && !values.all) {
    throw new EngramError('InvalidArgument', 'engram forget needs at least one --keep-… rule (see `engram forget --help`); to forget every snapshot that is not tagged or a run\'s newest, pass --all', {});
  }
  const policy: RetentionPolicy = {
    rules,
    ...(values.run !== undefined ? { run: values.run } : {}),
    ...(values['no-keep-tagged'] ? { keepTagged: false } : {}),
    ...(values['no-keep-newest'] ? { keepNewest: false } : {}),
    ...(values.all ? { all: true } : {}),
  };
  const dryRun = values['dry-run'] === true;
  const repo = await openRepo(ctx);
  try {
    const result = await repo.forget(policy, { dryRun });
    if (ctx.json) {
      printJson(ctx, result);
      return 0;
    }
    const forgotten = new Set(result.forgotten);
    const kept = new Set(result.keep.map((d) => d.id));
    for (const d of [...result.keep, ...result.forget].sort(byRunStep)) {
      const at = `${d.run}@${d.step}  ${d.id}`;
      if (kept.has(d.id)) ctx.out(`keep    ${at}  ${d.keptBy.map((r) => r.label).join('; ')}`);
      else if (dryRun || forgotten.has(d.id)) ctx.out(`forget  ${at}`);
      else ctx.out(`keep    ${at}  tagged while forget ran`);
    }
    const total = result.keep.length + result.forget.length;
    if (dryRun) {
      ctx.out(`Dry run: would forget ${result.forget.length} of ${plural(total, 'snapshot')} and keep ${result.keep.length}; nothing was deleted.`);
    } else {
      ctx.out(`Forgot ${result.forgotten.length} of ${plural(total, 'snapshot')}; kept ${total - result.forgotten.length}.`);
      if (result.forgotten.length > 0) ctx.out('Their chunks stay until garbage collection: run `engram gc` to reclaim space.');
    }
    return 0;
  } finally {
    await repo.close();
  }
}
