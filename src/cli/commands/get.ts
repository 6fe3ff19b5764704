/** @module `engram get <ref> <tensor> -o FILE`: extracts one tensor, reading only its chunks. */
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { EngramError } from '../../errors/index.ts';
import { writeNpy, writeSafetensors } from '../../formats/index.ts';
import { writeFileAtomic } from '../../repo/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';

export const getHelp = `engram get <ref> <tensor> -o out.npy|out.safetensors [--json]
  Writes one tensor to a file. <tensor> is its full name or a unique last part of it.`;

/** Runs `engram get`. */
export async function runGet(ctx: CliContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { output: { type: 'string', short: 'o' } } });
  if (positionals.length !== 2 || !values.output) throw new EngramError('InvalidArgument', 'usage: engram get <ref> <tensor> -o out.npy|out.safetensors', {});
  const out = values.output;
  const ext = extname(out).toLowerCase();
  if (ext !== '.npy' && ext !== '.safetensors') {
    throw new EngramError('InvalidArgument', `cannot write ${out}: use a .npy or .safetensors file name`, { path: out });
  }
  const repo = await openRepo(ctx);
  try {
    const snap = await repo.snapshot(positionals[0]!);
    const name = snap.resolveTensorName(positionals[1]!);
    const t = await snap.tensor(name);
    const bytes = ext === '.npy' ? writeNpy({ dtype: t.dtype, shape: t.shape, data: t.data }) : writeSafetensors([{ name: name.slice(name.lastIndexOf(':') + 1), dtype: t.dtype, shape: t.shape, data: t.data }]);
    await writeFileAtomic(out, [bytes]);
    if (ctx.json) printJson(ctx, { snapshot: snap.id, tensor: name, dtype: t.dtype, shape: t.shape, output: out, bytes: bytes.byteLength });
    else ctx.out(`Wrote ${name} (${t.dtype}[${t.shape.join(', ')}], ${formatBytes(t.byteLength)}) to ${out}`);
    return 0;
  } finally {
    await repo.close();
  }
}
