/**
 * @module `engram convert IN OUT [--format F]`: reads any file engram reads and writes its tensors
 * in another format, atomically. No repository is involved.
 */
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { EngramError } from '../../errors/index.ts';
import { checkWritable, openFileSource, readTensorFile, writeTensorFile, type TensorFileInput } from '../../formats/index.ts';
import { writeFileAtomic } from '../../repo/index.ts';
import { printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';
import { formatOfPath, parseWritableFormat } from '../parse-writable-format.ts';
import { ProgressBar } from '../progress-bar.ts';

export const convertHelp = `engram convert IN OUT [--format safetensors|npz|gguf|npy] [--json]
  Rewrites the tensors of IN (safetensors, npy, npz, pt, gguf, onnx) as OUT; the format is --format or OUT's extension.`;

/** Runs `engram convert`. */
export async function runConvert(ctx: CliContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { format: { type: 'string', short: 'f' } } });
  if (positionals.length !== 2) throw new EngramError('InvalidArgument', 'usage: engram convert IN OUT [--format F]', {});
  const [input, out] = positionals as [string, string];
  const format = values.format !== undefined ? parseWritableFormat(values.format) : formatOfPath(out);

  const src = await openFileSource(input);
  try {
    // A FormatError or UnsafePickle from reading propagates with its own code and exit status.
    const file = await readTensorFile(src);
    if (file.tensors.length === 0) {
      throw new EngramError('Unsupported', `${input} holds no tensors engram can read (it was read as ${file.format})`, { path: input, format: file.format });
    }
    // A bare .npy has one unnamed tensor: name it after the file.
    const nameOf = (n: string): string => n || basename(input, extname(input));
    const refused = checkWritable(format, file.tensors.map((t) => ({ name: nameOf(t.name), dtype: t.dtype })));
    if (refused) throw refused;

    const total = file.tensors.reduce((s, t) => s + t.byteLength, 0);
    const bar = new ProgressBar('converting', { format: formatBytes });
    const tensors: TensorFileInput[] = [];
    let done = 0;
    try {
      for (const t of file.tensors) {
        tensors.push({ name: nameOf(t.name), dtype: t.dtype, shape: t.shape, data: await t.load() });
        done += t.byteLength;
        bar.update(done, total);
      }
    } finally {
      bar.done();
    }
    // Only safetensors carries string metadata the same way (`__metadata__`), so only it keeps it.
    const bytes = writeTensorFile(format, tensors, format === 'safetensors' && file.format === 'safetensors' ? file.metadata : undefined);
    await writeFileAtomic(out, [bytes]);
    if (ctx.json) printJson(ctx, { path: out, format, tensors: tensors.length, bytes: bytes.byteLength });
    else ctx.out(`Wrote ${tensors.length} tensors from ${input} (${file.format}) to ${out} (${format}, ${formatBytes(bytes.byteLength)})`);
    return 0;
  } finally {
    await src.close();
  }
}
