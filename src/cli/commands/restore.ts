/** @module `engram restore <ref> <dir>`: gives back a snapshot's files byte for byte. */
import { join } from 'node:path';
import { EngramError } from '../../errors/index.ts';
import { writeSafetensors } from '../../formats/index.ts';
import { restoreSharded, shardsMetadata } from '../../distributed/index.ts';
import { restoreSnapshotToDirectory } from '../../ops/index.ts';
import { safeJoin, writeFileAtomic } from '../../repo/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';
import { plural } from '../plural.ts';
import { parseCommandArgs } from '../parse-command-args.ts';
import { parseIntOption } from '../parse-int-option.ts';
import { ProgressBar } from '../progress-bar.ts';

export const restoreHelp = `engram restore <ref> <dir> [--force] [--json]
  Writes the snapshot's files into <dir>, each byte-identical to what was saved (every chunk is
  verified against its hash; the save checked that each file's layout rebuilds it). Tensors saved through the library (not from files) go to <dir>/tensors.safetensors and
  blobs to <dir>/blobs/. The tree is built in a temporary directory beside <dir> and renamed into
  place, so a failed restore leaves <dir> as it was. <dir> must be new or empty; --force replaces a
  non-empty one (deleting what it held once the new tree is complete).

engram restore <ref> <dir> --rank K --world-size W [--json]
  Load-time resharding: writes this rank's part of every tensor to <dir>/rank-K.safetensors, reading only
  the chunks it overlaps, whatever number of ranks saved the snapshot. Sharded tensors are split along
  dimension 0 into W near-equal blocks (the first rows % W ranks get one row more); other tensors are
  written whole. The file's __metadata__ "engram.shards" gives each block's offsets and global shape, in
  the format \`engram save --rank\` reads. Rank 0 also writes blobs to <dir>/blobs/.`;

/** `engram restore --rank K --world-size W`: this rank's blocks as one safetensors file. */
async function restoreRank(ctx: CliContext, ref: string, dir: string, rankText: string | undefined, worldText: string | undefined): Promise<number> {
  const worldSize = parseIntOption('--world-size', worldText, { min: 1 });
  const rank = parseIntOption('--rank', rankText, { max: worldSize - 1 });
  const repo = await openRepo(ctx);
  try {
    const snap = await repo.snapshot(ref);
    const restored = await restoreSharded(snap, { rank, worldSize });
    const tensors = [...restored].map(([name, r]) => ({ name, dtype: r.tensor.dtype, shape: r.tensor.shape, data: r.tensor.data }));
    const path = join(dir, `rank-${rank}.safetensors`);
    await writeFileAtomic(path, [writeSafetensors(tensors, shardsMetadata(restored))]);
    const written = [path];
    if (rank === 0) {
      for (const name of snap.blobNames()) {
        const p = safeJoin(dir, `blobs/${name}`);
        await writeFileAtomic(p, [await snap.blob(name)]);
        written.push(p);
      }
    }
    const bytes = tensors.reduce((n, t) => n + t.data.byteLength, 0);
    if (ctx.json) printJson(ctx, { id: snap.id, rank, worldSize, written, bytes });
    else ctx.out(`Restored rank ${rank} of ${worldSize} of ${snap.run}@${snap.step} (${snap.id}) into ${path}: ${plural(tensors.length, 'tensor')}, ${formatBytes(bytes)}`);
    return 0;
  } finally {
    await repo.close();
  }
}

/** Runs `engram restore`. */
export async function runRestore(ctx: CliContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { rank: { type: 'string' }, 'world-size': { type: 'string' }, force: { type: 'boolean' } });
  if (positionals.length !== 2) throw new EngramError('InvalidArgument', 'engram restore needs a ref and a target directory', {});
  const [ref, dir] = positionals as [string, string];
  if (values.rank !== undefined || values['world-size'] !== undefined) return restoreRank(ctx, ref, dir, values.rank, values['world-size']);
  const repo = await openRepo(ctx);
  try {
    const snap = await repo.snapshot(ref);
    const bar = new ProgressBar('restoring', { format: formatBytes });
    const { written, bytes } = await restoreSnapshotToDirectory(snap, dir, {
      force: values.force === true, onProgress: (e) => bar.update(e.bytesDone, e.bytesTotal),
    }).finally(() => bar.done());
    if (ctx.json) printJson(ctx, { id: snap.id, written });
    else ctx.out(`Restored ${snap.run}@${snap.step} (${snap.id}) into ${dir}: ${plural(written.length, 'file')}, ${formatBytes(bytes)}`);
    return 0;
  } finally {
    await repo.close();
  }
}
