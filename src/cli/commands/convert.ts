/**
 * @module `engram convert IN OUT [--format F]`: reads any file engram reads and writes its tensors
 * in another format, atomically. No repository is involved.
 */
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { EngramError } from '../../errors/index.ts';
import {
  checkWritable, openFileSource, planOnnxFromTensors, readTensorFile, type LazyTensorInput,
} from '../../formats/index.ts';
import { printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';
import { plural } from '../plural.ts';
import { formatOfPath, parseWritableFormat } from '../parse-writable-format.ts';
import { isOnnxFormat, onnxExternalOptions, onnxTemplate, writeOnnxFiles } from './export.ts';
import { ProgressBar } from '../progress-bar.ts';
import { writeTensorOutput } from '../write-tensor-output.ts';

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

  const src = await openFileSource(input);
  try {
    // A FormatError or UnsafePickle from reading propagates with its own code and exit status.
    const file = await readTensorFile(src);
    if (file.tensors.length === 0) {
      const why = file.withheld?.length ? `: ${file.withheld.map((w) => w.reason).join('; ')}`
        : file.opaqueReason ? `: ${file.opaqueReason}` : ` (it was read as ${file.format})`;
      throw new EngramError('Unsupported', `${input} holds no tensors engram can read${why}`, { path: input, format: file.format, ...(file.withheld ? { withheld: file.withheld } : {}) });
    }
    // A bare .npy has one unnamed tensor: name it after the file.
    const nameOf = (n: string): string => n || basename(input, extname(input));
    const refused = checkWritable(format, file.tensors.map((t) => ({ name: nameOf(t.name), dtype: t.dtype })));
    if (refused) throw refused;

    const total = file.tensors.reduce((s, t) => s + t.byteLength, 0);
    const bar = new ProgressBar('converting', { format: formatBytes });
    let done = 0;
    // Each tensor is read from IN when the writer reaches it, so memory holds one tensor, not the output.
    const tensors: LazyTensorInput[] = file.tensors.map((t) => ({
      name: nameOf(t.name), dtype: t.dtype, shape: t.shape, byteLength: t.byteLength,
      load: async () => {
        const data = await t.load();
        done += t.byteLength;
        bar.update(done, total);
        return data;
      },
    }));
    // Only safetensors carries string metadata the same way (`__metadata__`), so only it keeps it;
    // h5 → h5 keeps the Keras attributes (model_config, training_config, …) the same way. TF.js →
    // safetensors keeps `weight:<name>`: a quantized weight's U8/F16 bytes mean nothing without it.
    const keepMetadata = (format === 'safetensors' && (file.format === 'safetensors' || file.format === 'tfjs')) || (format === 'h5' && file.format === 'hdf5');
    let written: number;
    try {
      written = await writeTensorOutput(out, format, tensors, keepMetadata && file.metadata ? { metadata: file.metadata } : {});
    } finally {
      bar.done();
    }
    if (ctx.json) printJson(ctx, { path: out, format, tensors: tensors.length, bytes: written });
    else ctx.out(`Wrote ${plural(tensors.length, 'tensor')} from ${input} (${file.format}) to ${out} (${format}, ${formatBytes(written)})`);
    return 0;
  } finally {
    await src.close();
  }
}

async function convertOnnx(ctx: CliContext, input: string, out: string, template: string | undefined, external: boolean): Promise<number> {
  const tpl = await onnxTemplate(template, 'convert');
  try {
    const src = await openFileSource(input);
    try {
      const file = await readTensorFile(src);
      const candidates = file.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, load: () => t.load() }));
      const plan = await planOnnxFromTensors(tpl, candidates, onnxExternalOptions(out, external));
      const written = await writeOnnxFiles(out, plan);
      if (ctx.json) printJson(ctx, { path: out, format: 'onnx', tensors: plan.replaced.length, bytes: written });
      else ctx.out(`Wrote ${plural(plan.replaced.length, 'tensor')} from ${input} (${file.format}) into ${out} (onnx from ${template}, ${formatBytes(written)})`);
      return 0;
    } finally {
      await src.close();
    }
  } finally {
    await tpl.close();
  }
}
