/** @module `engram tasks <ref>`: a snapshot's task registry — tasks, the accuracy matrix R, ACC, BWT, F. */
import { parseArgs } from 'node:util';
import { readTaskRegistry } from '../../continual/index.ts';
import { EngramError } from '../../errors/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';

export const tasksHelp = `engram tasks <ref> [--namespace NAME] [--json]
  Prints the task registry of a continual-learning checkpoint: its tasks in training order with their
  classes, the accuracy matrix R (row i: after training task i; column j: accuracy on task j), and
  ACC (mean of the last row), BWT (backward transfer) and F (forgetting). --namespace names the
  registry's namespace (default tasks).`;

const cell = (v: number | null): string => (v === null ? '—' : v.toFixed(3));

/** Runs `engram tasks`. */
export async function runTasks(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { namespace: { type: 'string', default: 'tasks' } } });
  if (positionals.length !== 1) throw new EngramError('InvalidArgument', 'engram tasks needs exactly one ref', {});
  const namespace = values.namespace;
  const repo = await openRepo(ctx);
  try {
    const snap = await repo.snapshot(positionals[0]!);
    const registry = await readTaskRegistry(snap, namespace);
    if (!registry) {
      throw new EngramError('NotFound', `snapshot ${snap.id} (${snap.run}@${snap.step}) has no task registry (no namespace ${namespace})`, { snapshot: snap.id, namespace }, {
        hint: 'A continual-learning run saves one as namespace `tasks` (engram/continual TaskRegistry.toNamespace()) through CheckpointManager; `engram show <ref>` lists what the snapshot holds.',
      });
    }
    const tasks = registry.tasks;
    const matrix = registry.matrix();
    const measures = registry.measures();
    if (ctx.json) {
      printJson(ctx, {
        snapshot: snap.id, run: snap.run, step: snap.step, namespace,
        tasks: tasks.map((t) => ({ id: t.id, classes: t.classes, embedding: t.embedding !== undefined })),
        matrix, acc: measures.acc, bwt: measures.bwt, forgetting: measures.forgetting,
      });
      return 0;
    }
    ctx.out(`snapshot ${snap.id}  ${snap.run}@${snap.step}`);
    ctx.out(`\n${tasks.length} task${tasks.length === 1 ? '' : 's'} (namespace ${namespace}), in training order:`);
    tasks.forEach((t, i) => ctx.out(`  ${String(i).padStart(2)}  ${t.id}  classes ${t.classes.join(', ') || '(none)'}${t.embedding ? '  (embedding)' : ''}`));
    if (tasks.length > 0) {
      ctx.out('\nR[i][j]: accuracy on task j after training task i');
      ctx.out(`  ${'i \\ j'.padEnd(6)}${tasks.map((_, j) => String(j).padStart(7)).join('')}`);
      matrix.forEach((row, i) => ctx.out(`  ${String(i).padEnd(6)}${row.map((v) => cell(v).padStart(7)).join('')}`));
    }
    ctx.out(`\nACC ${cell(measures.acc)}   BWT ${cell(measures.bwt)}   F ${cell(measures.forgetting)}`);
    return 0;
  } finally {
    await repo.close();
  }
}
