/** @module `engram get <ref> <tensor> -o FILE`: extracts one tensor, reading only its chunks. */
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { EngramError } from '../../errors/index.ts';
import { extractTensor } from '../../ops/index.ts';
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
    const t = await extractTensor(snap, positionals[1]!, out, ext === '.npy' ? 'npy' : 'safetensors');
    if (ctx.json) printJson(ctx, { snapshot: snap.id, tensor: t.tensor, dtype: t.dtype, shape: t.shape, output: out, bytes: t.bytes });
    else ctx.out(`Wrote ${t.tensor} (${t.dtype}[${t.shape.join(', ')}], ${formatBytes(t.byteLength)}) to ${out}`);
    return 0;
  } finally {
    await repo.close();
  }
}
