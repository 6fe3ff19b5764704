/** @module `engram save`: ingests files and directories into a new snapshot. */
import { EngramError } from '../../errors/index.ts';
import { openFileSource, readTensorFile } from '../../formats/index.ts';
import { parseShardsMetadata, saveSharded, shardFileContent } from '../../distributed/index.ts';
import { ingestFiles } from '../../ops/index.ts';
import { describeOwner, type SaveWait } from '../../repo/index.ts';
import type { JsonValue } from '../../tensor/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';
import { withSignalCleanup } from '../on-signal.ts';
import { parseCommandArgs } from '../parse-command-args.ts';
import { parseIntOption } from '../parse-int-option.ts';
import { plural } from '../plural.ts';
import { ProgressBar } from '../progress-bar.ts';

export const saveHelp = `engram save <files or dirs…> --run R [--step N] [--metric k=v]… [--meta k=v]… [--tag T]… [-m MSG]
  Saves the files as a new snapshot of run R. Tensor files (safetensors, .npy, .npz, PyTorch .pt/.pth/.bin,
  GGUF, ONNX with external data, HDF5/Keras .h5, TensorFlow.js model.json + shards) are split into tensors
  that deduplicate; every file comes back byte for byte with \`engram restore\`.
  Pickles are never executed: one that asks for anything outside the allowlist is refused (UnsafePickle).

engram save <rank-file> --run R --step N --rank K --world-size W [--timeout SECONDS] [--metric k=v]… [--meta k=v]… [--tag T]… [-m MSG]
  One rank's part of a distributed save: run it once per rank (K = 0 … W-1), with the same run and step.
  <rank-file> is a tensor file (safetensors for shards) holding this rank's tensors. Its __metadata__ entry
  "engram.shards" is a JSON object placing each sharded tensor in its global tensor:
    {"w": {"offsets": [256, 0], "global_shape": [1024, 512]}, "w.part2": {"tensor": "w", "offsets": …}}
  ("tensor" names the global tensor when the file's name differs). Tensors it does not name are replicated
  (stored once; ranks that give one must give the same bytes). Rank 0 commits ONE snapshot once every rank's
  part is stored, waiting up to --timeout (default 300) seconds; otherwise nothing becomes visible. Metrics,
  meta, tags and message are taken from rank 0.`;

function keyValues(list: string[] | undefined, what: string): [string, string][] {
  return (list ?? []).map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new EngramError('InvalidArgument', `--${what} expects key=value, got ${JSON.stringify(kv)}`, { value: kv });
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  });
}

/** `engram save --rank K --world-size W`: this rank's part of a distributed save (distributed/). */
async function saveRank(
  ctx: CliContext,
  positionals: string[],
  o: { run: string; step: number | undefined; rank?: string; worldSize?: string; timeout?: string; metrics: Record<string, number>; meta: Record<string, JsonValue>; tags: string[]; message: string },
): Promise<number> {
  if (positionals.length !== 1) throw new EngramError('InvalidArgument', 'a distributed save takes exactly one file per rank', {});
  if (o.step === undefined) throw new EngramError('InvalidArgument', 'a distributed save needs --step: ranks name their save by run and step', {});
  const worldSize = parseIntOption('--world-size', o.worldSize, { min: 1 });
  const rank = parseIntOption('--rank', o.rank, { max: worldSize - 1 });
  const timeoutMs = o.timeout === undefined ? undefined : parseIntOption('--timeout', o.timeout) * 1000;
  const path = positionals[0]!;
  const src = await openFileSource(path, path);
  const repo = await openRepo(ctx);
  try {
    const file = await readTensorFile(src);
    const content = shardFileContent(path, file.tensors, parseShardsMetadata(path, file.metadata));
    const result = await saveSharded(repo, {
      run: o.run, step: o.step, rank, worldSize, ...content, metrics: o.metrics, meta: o.meta, tags: o.tags, message: o.message,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
    const snap = result.snapshot;
    if (ctx.json) printJson(ctx, { saveId: result.saveId, rank, worldSize, storedBytes: result.storedBytes, ...(snap ? { id: snap.id, run: snap.run, step: snap.step, parent: snap.parent, tensors: snap.tensorNames().length } : {}) });
    else if (snap) ctx.out(`Committed ${snap.run}@${snap.step} as ${snap.id} from ${plural(worldSize, 'rank')}: ${plural(snap.tensorNames().length, 'tensor')}\nNext: engram show ${snap.id}`);
    else ctx.out(`Rank ${rank} of ${worldSize} stored its part of ${result.saveId} (${formatBytes(result.storedBytes)} new); rank 0 commits the snapshot`);
    return 0;
  } finally {
    await src.close();
    await repo.close();
  }
}

/**
 * A status line on stderr whenever the set of garbage collections the save waits for changes:
 * who they are, how long the save has waited and at most will.
 */
function waitReporter(ctx: CliContext): (wait: SaveWait) => void {
  let last = '';
  return (wait) => {
    const ids = wait.gcs.map((g) => g.gcId).join(',');
    if (ids === last) return;
    last = ids;
    const now = Date.now();
    const who = wait.gcs.map((g) => {
      const expires = Math.max(0, Math.round(((wait.expiresAt.get(g.gcId) ?? now) - now) / 1000));
      return `${g.gcId} (${describeOwner(g.owner)}; taken for crashed in ${expires} s if it shows no sign of life)`;
    }).join(', ');
    ctx.err(`waiting for garbage collection ${who} to finish before saving; waited ${Math.round(wait.waitedMs / 1000)} s, giving up after ${Math.round(wait.maxWaitMs / 1000)} s`);
  };
}

/** Runs `engram save`. */
export async function runSave(ctx: CliContext, argv: string[]): Promise<number> {
  return withSignalCleanup(ctx, 'save', () => saveCommand(ctx, argv));
}

async function saveCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
      run: { type: 'string' },
      step: { type: 'string' },
      metric: { type: 'string', multiple: true },
      meta: { type: 'string', multiple: true },
      tag: { type: 'string', multiple: true },
      message: { type: 'string', short: 'm' },
      rank: { type: 'string' },
      'world-size': { type: 'string' },
      timeout: { type: 'string' },
  });
  if (positionals.length === 0) throw new EngramError('InvalidArgument', 'nothing to save: name files or directories', {});
  if (!values.run) throw new EngramError('InvalidArgument', 'engram save needs --run NAME', {});
  const step = values.step === undefined ? undefined : parseIntOption('--step', values.step);
  const metrics: Record<string, number> = {};
  for (const [k, v] of keyValues(values.metric, 'metric')) {
    const n = Number(v);
    if (v.trim() === '' || Number.isNaN(n)) throw new EngramError('InvalidArgument', `--metric ${k} must be a number, got ${JSON.stringify(v)}`, {});
    metrics[k] = n;
  }
  const meta: Record<string, JsonValue> = Object.fromEntries(keyValues(values.meta, 'meta'));
  if (values.rank !== undefined || values['world-size'] !== undefined) {
    return saveRank(ctx, positionals, { run: values.run, step, rank: values.rank, worldSize: values['world-size'], timeout: values.timeout, metrics, meta, tags: values.tag ?? [], message: values.message ?? '' });
  }

  const repo = await openRepo(ctx);
  try {
    const tags = values.tag ?? [];
    const bar = new ProgressBar('saving', { format: formatBytes });
    const result = await ingestFiles(repo, positionals, {
      run: values.run, ...(step !== undefined ? { step } : {}), message: values.message ?? '', metrics, meta, tags,
      // Reading the files draws no bar; storing them does.
      onProgress: (e) => { if (e.phase === 'saving') bar.update(e.bytesDone, e.bytesTotal); },
      onWait: waitReporter(ctx),
    });
    bar.done();
    const snap = result.snapshot;
    const stats = { id: snap.id, run: snap.run, step: snap.step, parent: snap.parent, files: result.files, tensors: snap.tensorNames().length, tags };
    if (ctx.json) printJson(ctx, stats);
    else ctx.out(`Saved ${snap.run}@${snap.step} as ${snap.id}: ${plural(result.files, 'file')}, ${plural(stats.tensors, 'tensor')}${stats.tags.length ? `, tagged ${stats.tags.join(', ')}` : ''}\nNext: engram show ${snap.id}`);
    return 0;
  } finally {
    await repo.close();
  }
}
