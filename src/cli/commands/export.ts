/**
 * @module `engram export <ref> --format F -o PATH`: writes a snapshot's tensors (all, or those under
 * a prefix) as one file of another format, atomically.
 */
import { parseArgs } from 'node:util';
import { EngramError } from '../../errors/index.ts';
import { checkWritable, writeTensorFile, type TensorFileInput } from '../../formats/index.ts';
import { writeFileAtomic } from '../../repo/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';
import { parseWritableFormat } from '../parse-writable-format.ts';
import { ProgressBar } from '../progress-bar.ts';

export const exportHelp = `engram export <ref> --format safetensors|npz|gguf -o PATH [--only PREFIX] [--json]
  Writes every tensor of a snapshot (or those whose name starts with PREFIX) into one file.`;

/** Runs `engram export`. */
export async function runExport(ctx: CliContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { format: { type: 'string', short: 'f' }, output: { type: 'string', short: 'o' }, only: { type: 'string' } },
  });
  if (positionals.length !== 1 || !values.output || !values.format) {
    throw new EngramError('InvalidArgument', 'usage: engram export <ref> --format safetensors|npz|gguf -o PATH [--only PREFIX]', {});
  }
  const format = parseWritableFormat(values.format);
  const out = values.output;
  const repo = await openRepo(ctx);
  try {
    const snap = await repo.snapshot(positionals[0]!);
    const prefix = values.only ?? '';
    const names = snap.tensorNames().filter((n) => n.startsWith(prefix));
    if (names.length === 0) {
      throw new EngramError('NotFound', `snapshot ${snap.id} has no tensor${prefix ? ` starting with ${JSON.stringify(prefix)}` : 's'}`, { snapshot: snap.id, prefix });
    }
    // Refuse from the manifest alone, before reading any chunk.
    const refused = checkWritable(format, names.map((name) => ({ name, dtype: snap.tensorInfo(name).dtype })));
    if (refused) throw refused;

    const total = names.reduce((s, n) => s + snap.tensorInfo(n).byteLength, 0);
    const bar = new ProgressBar('exporting', { format: formatBytes });
    const tensors: TensorFileInput[] = [];
    let done = 0;
    try {
      for (const name of names) {
        const t = await snap.tensor(name);
        tensors.push({ name, dtype: t.dtype, shape: t.shape, data: t.data });
        done += t.byteLength;
        bar.update(done, total);
      }
    } finally {
      bar.done();
    }
    const bytes = writeTensorFile(format, tensors);
    await writeFileAtomic(out, [bytes]);
    if (ctx.json) printJson(ctx, { path: out, format, tensors: tensors.length, bytes: bytes.byteLength });
    else ctx.out(`Wrote ${tensors.length} tensors of ${snap.id} to ${out} (${format}, ${formatBytes(bytes.byteLength)})`);
    return 0;
  } finally {
    await repo.close();
  }
}
