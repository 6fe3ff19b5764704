/**
 * @module `engram convert IN OUT [--format F]`: reads any file engram reads and writes its tensors
 * in another format, atomically. No repository is involved.
 */
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { EngramError } from '../../errors/index.ts';
import { convertFile, convertFileToOnnx } from '../../ops/index.ts';
import { printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';
import { openOnnxTemplate } from '../open-onnx-template.ts';
import { plural } from '../plural.ts';
import { formatOfPath, isOnnxFormat, parseWritableFormat } from '../parse-writable-format.ts';
import { ProgressBar } from '../progress-bar.ts';

export const convertHelp = `engram convert IN OUT [--format safetensors|npz|gguf|npy|tfjs|pt|h5] [--json]
  Rewrites the tensors of IN (safetensors, npy, npz, pt, gguf, onnx, TF.js model.json) as OUT; the format is --format or OUT's extension.
  tfjs writes a new directory OUT holding model.json and its weight shards.
engram convert IN OUT.onnx --template MODEL.onnx [--external-data] [--json]
  Writes the tensors of IN into a copy of MODEL.onnx, replacing the initializers they name.`;

/** Runs `engram convert`. */
export async function runConvert(ctx: CliContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { format: { type: 'string', short: 'f' }, template: { type: 'string' }, 'external-data': { type: 'boolean' } },
  });
  if (positionals.length !== 2) throw new EngramError('InvalidArgument', 'usage: engram convert IN OUT [--format F]', {});
  const [input, out] = positionals as [string, string];
  if (isOnnxFormat(values.format ?? extname(out))) return convertOnnx(ctx, input, out, values.template, values['external-data'] === true);
  const format = values.format !== undefined ? parseWritableFormat(values.format) : formatOfPath(out);

  const bar = new ProgressBar('converting', { format: formatBytes });
  let result;
  try {
    // A FormatError or UnsafePickle from reading propagates with its own code and exit status.
    result = await convertFile(input, out, { format, onProgress: (e) => bar.update(e.bytesDone, e.bytesTotal) });
  } finally {
    bar.done();
  }
  if (ctx.json) printJson(ctx, { path: out, format, tensors: result.tensors, bytes: result.bytes });
  else ctx.out(`Wrote ${plural(result.tensors, 'tensor')} from ${input} (${result.inputFormat}) to ${out} (${format}, ${formatBytes(result.bytes)})`);
  return 0;
}

async function convertOnnx(ctx: CliContext, input: string, out: string, template: string | undefined, external: boolean): Promise<number> {
  const tpl = await openOnnxTemplate(template, 'convert');
  try {
    const result = await convertFileToOnnx(input, out, { template: tpl, externalData: external });
    if (ctx.json) printJson(ctx, { path: out, format: 'onnx', tensors: result.tensors, bytes: result.bytes });
    else ctx.out(`Wrote ${plural(result.tensors, 'tensor')} from ${input} (${result.inputFormat}) into ${out} (onnx from ${template}, ${formatBytes(result.bytes)})`);
    return 0;
  } finally {
    await tpl.close();
  }
}
