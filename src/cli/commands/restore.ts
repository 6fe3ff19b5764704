/** @module `engram restore <ref> <dir>`: gives back a snapshot's files byte for byte. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EngramError } from '../../errors/index.ts';
import { writeSafetensors } from '../../formats/index.ts';
import { restoreFiles, safeJoin, writeFileAtomic } from '../../repo/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';
import { ProgressBar } from '../progress-bar.ts';

export const restoreHelp = `engram restore <ref> <dir> [--json]
  Writes the snapshot's files into <dir>, each byte-identical to what was saved and verified by its
  SHA-256. Tensors saved through the library (not from files) go to <dir>/tensors.safetensors and
  blobs to <dir>/blobs/.`;

/** Runs `engram restore`. */
export async function runRestore(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} });
  if (positionals.length !== 2) throw new EngramError('InvalidArgument', 'engram restore needs a ref and a target directory', {});
  const [ref, dir] = positionals as [string, string];
  const repo = await openRepo(ctx);
  try {
    const snap = await repo.snapshot(ref);
    const total = snap.files.reduce((n, f) => n + f.size, 0);
    const bar = new ProgressBar('restoring', { format: formatBytes });
    let done = 0;
    const written = await restoreFiles(snap, dir, (_p, size) => bar.update((done += size), total));
    bar.done();
    // Tensors that came from no file (library saves) are written as one safetensors file.
    const inFiles = new Set(snap.files.flatMap((f) => f.segments.flatMap((s) => (s.kind === 'tensor' ? [s.tensor] : []))));
    for (const f of snap.files) for (const n of snap.tensorNames()) if (n === f.path || n.startsWith(`${f.path}:`)) inFiles.add(n);
    const loose = snap.tensorNames().filter((n) => !inFiles.has(n));
    if (loose.length > 0) {
      const tensors = [];
      for (const name of loose) {
        const t = await snap.tensor(name);
        tensors.push({ name, dtype: t.dtype, shape: t.shape, data: t.data });
      }
      const path = join(dir, 'tensors.safetensors');
      await writeFileAtomic(path, [writeSafetensors(tensors)]);
      written.push(path);
    }
    for (const name of snap.blobNames()) {
      const path = safeJoin(dir, `blobs/${name}`);
      await writeFileAtomic(path, [await snap.blob(name)]);
      written.push(path);
    }
    if (ctx.json) printJson(ctx, { id: snap.id, written });
    else ctx.out(`Restored ${snap.run}@${snap.step} (${snap.id}) into ${dir}: ${written.length} files, ${formatBytes(total)}`);
    return 0;
  } finally {
    await repo.close();
  }
}
