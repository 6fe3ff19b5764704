/** @module `engram show <ref>`: one snapshot's lineage, metrics, tensors and files. */
import { parseArgs } from 'node:util';
import { describeContinualState, type ContinualSummary } from '../../continual/index.ts';
import { EngramError } from '../../errors/index.ts';
import { boxText, type Snapshot } from '../../repo/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';
import { plural } from '../plural.ts';

export const showHelp = `engram show <ref> [--json]
  Shows a snapshot. Refs: an id (or unique prefix), run@step, run@latest, run@best:metric, tag:name, with ~N for the N-th parent.
  Tensors of a distributed save list their shards: each box as start:end per dimension (--json: "shards"
  with offsets, shape and chunks). A continual-learning checkpoint also lists its replay buffers (kind,
  size, examples per class), EWC tasks and task registry (--json: "continual"; \`engram tasks\` prints R).`;

/** Shard lines shown per tensor; `--json` has them all. */
const MAX_SHARD_LINES = 32;

/** Runs `engram show`. */
export async function runShow(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} });
  if (positionals.length !== 1) throw new EngramError('InvalidArgument', 'engram show needs exactly one ref', {});
  const repo = await openRepo(ctx);
  try {
    const snap = await repo.snapshot(positionals[0]!);
    const tags = [...(await repo.tags())].filter(([, id]) => id === snap.id).map(([t]) => t).sort();
    const m = snap.manifest;
    const continual = await continualState(snap);
    if (ctx.json) {
      printJson(ctx, { ...m, tags, ...(continual ? { continual } : {}) });
      return 0;
    }
    ctx.out(`snapshot ${m.id}`);
    ctx.out(`run      ${m.run}@${m.step}`);
    ctx.out(`parent   ${m.parent ?? '(none)'}`);
    ctx.out(`created  ${m.createdAt}`);
    if (tags.length) ctx.out(`tags     ${tags.join(', ')}`);
    if (m.message) ctx.out(`message  ${m.message}`);
    for (const [k, v] of Object.entries(m.metrics)) ctx.out(`metric   ${k} = ${v}`);
    for (const [k, v] of Object.entries(m.meta)) ctx.out(`meta     ${k} = ${JSON.stringify(v)}`);
    const names = Object.keys(m.tensors);
    ctx.out(`\n${plural(names.length, 'tensor')}:`);
    for (const n of names) {
      const t = m.tensors[n]!;
      if (!t.shards) {
        // A tensor held inside a compressed file has no chunks of its own: say where it is.
        const where = t.inFile ? `held in ${t.inFile.path}` : plural(t.chunks.length, 'chunk');
        ctx.out(`  ${n}  ${t.dtype}[${t.shape.join(', ')}]  ${formatBytes(t.byteLength)}  ${where}`);
        continue;
      }
      // A distributed save's tensor: its shard layout, one box per line (start:end per dimension).
      ctx.out(`  ${n}  ${t.dtype}[${t.shape.join(', ')}]  ${formatBytes(t.byteLength)}  ${plural(t.shards.length, 'shard')}`);
      for (const sh of t.shards.slice(0, MAX_SHARD_LINES)) ctx.out(`      [${boxText(sh)}]  ${formatBytes(sh.byteLength)}  ${plural(sh.chunks.length, 'chunk')}`);
      if (t.shards.length > MAX_SHARD_LINES) ctx.out(`      … ${t.shards.length - MAX_SHARD_LINES} more (--json lists all)`);
    }
    const withheld = m.files.flatMap((f) => f.withheld ?? []);
    if (withheld.length) {
      ctx.out(`\n${plural(withheld.length, 'tensor')} kept only as file bytes:`);
      for (const w of withheld) ctx.out(`  ${w.tensor}  ${w.reason}`);
    }
    const blobs = Object.entries(m.blobs);
    if (blobs.length) {
      ctx.out(`\n${plural(blobs.length, 'blob')}:`);
      for (const [n, b] of blobs) ctx.out(`  ${n}  ${formatBytes(b.byteLength)}`);
    }
    if (continual) printContinual(ctx, continual);
    if (m.files.length) {
      ctx.out(`\n${plural(m.files.length, 'file')}:`);
      for (const f of m.files) ctx.out(`  ${f.path}  ${f.format}  ${formatBytes(f.size)}  sha256 ${f.sha256.slice(0, 16)}…`);
    }
    ctx.out(`\nNext: engram restore ${m.id} <dir>   or   engram get ${m.id} <tensor> -o out.safetensors`);
    return 0;
  } finally {
    await repo.close();
  }
}

/**
 * The continual-learning state of a training checkpoint that has extension namespaces, or
 * undefined when it has none (or holds none of replay, EWC or a task registry): only a training
 * state's namespace records are JSON, so nothing else is read as one.
 */
async function continualState(snap: Snapshot): Promise<ContinualSummary | undefined> {
  const train = snap.meta['train'];
  const listed = train && typeof train === 'object' && !Array.isArray(train) ? (train as Record<string, unknown>)['namespaces'] : undefined;
  if (!Array.isArray(listed) || listed.length === 0) return undefined;
  const s = await describeContinualState(snap);
  return s.replay.length > 0 || s.ewc !== null || s.tasks !== null ? s : undefined;
}

function printContinual(ctx: CliContext, s: ContinualSummary): void {
  const f = (v: number | null): string => (v === null ? '—' : v.toFixed(3));
  ctx.out('\ncontinual learning:');
  for (const r of s.replay) {
    ctx.out(`  replay ${r.namespace}: ${r.kind}, ${r.size} of ${r.capacity} examples held (${r.seen} seen), fields ${r.fields.map((x) => x.name).join(', ')}, ${plural(r.segments, 'segment')}`);
    if (r.countsByClass) ctx.out(`    per class (${r.labelField}): ${Object.entries(r.countsByClass).map(([c, n]) => `${c}:${n}`).join(' ') || '(none)'}`);
  }
  if (s.ewc) ctx.out(`  ewc: ${s.ewc.mode}, lambda ${s.ewc.lambda}${s.ewc.mode === 'online' ? `, gamma ${s.ewc.gamma}` : ''}, ${plural(s.ewc.tasks.length, 'task')}: ${s.ewc.tasks.join(', ')}`);
  if (s.tasks) {
    ctx.out(`  tasks ${s.tasks.namespace}: ${s.tasks.tasks.map((t) => `${t.id} [${t.classes.join(', ')}]`).join(', ')}`);
    ctx.out(`    ACC ${f(s.tasks.measures.acc)}  BWT ${f(s.tasks.measures.bwt)}  F ${f(s.tasks.measures.forgetting)}  (engram tasks ${s.snapshot} prints R)`);
  }
}
