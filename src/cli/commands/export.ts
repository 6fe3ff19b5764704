/**
 * @module `engram export <ref> --format F -o PATH`: writes a snapshot's tensors (all, or those under
 * a prefix) as one file of another format, atomically.
 */
import { parseArgs } from 'node:util';
import { EngramError } from '../../errors/index.ts';
import { EXPORT_CHUNK_CACHE_BYTES, exportSnapshot, exportSnapshotToOnnx } from '../../ops/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';
import { openOnnxTemplate } from '../open-onnx-template.ts';
import { plural } from '../plural.ts';
import { isOnnxFormat, parseWritableFormat } from '../parse-writable-format.ts';
import { ProgressBar } from '../progress-bar.ts';

export const exportHelp = `engram export <ref> --format safetensors|npz|npy|gguf|tfjs|pt|h5 -o PATH [--only PREFIX [--strip]] [--nest] [--json]
  Writes every tensor of a snapshot (or those whose name starts with PREFIX; --strip drops PREFIX from the
  names written) into one file; pt writes a state dict torch.load reads, or with --nest a checkpoint
  of nested dicts split at '/' (model/…, optimizer/…)
  (tfjs: a new directory PATH with model.json and weight shards; optimizer/… tensors form its optimizer group;
  h5: a Keras weights file, layer/weight names grouped into layer_names/weight_names).
engram export <ref> --format onnx --template MODEL.onnx -o PATH [--only PREFIX] [--external-data] [--json]
  Writes the tensors into a copy of MODEL.onnx, replacing the initializers they name (a tensor saved from
  a file matches by the name after its 'path:'); everything else is copied. External data goes to PATH.data
  when MODEL.onnx used it, or for every weight of 1 KiB or more with --external-data.`;

/** Runs `engram export`. */
export async function runExport(ctx: CliContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      format: { type: 'string', short: 'f' }, output: { type: 'string', short: 'o' }, only: { type: 'string' },
      template: { type: 'string' }, 'external-data': { type: 'boolean' }, strip: { type: 'boolean' }, nest: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1 || !values.output || !values.format) {
    throw new EngramError('InvalidArgument', 'usage: engram export <ref> --format safetensors|npz|npy|gguf|tfjs|pt|h5|onnx -o PATH [--only PREFIX] (see engram export --help)', {});
  }
  if (isOnnxFormat(values.format)) return exportOnnx(ctx, positionals[0]!, values.output, values.only ?? '', values.template, values['external-data'] === true);
  const format = parseWritableFormat(values.format);
  if (values.nest && format !== 'pt') throw new EngramError('InvalidArgument', '--nest is for --format pt (a checkpoint of nested dicts)', { format });
  const out = values.output;
  // Tensors are read once each, in order: a cache of a few chunks serves bundles of small tensors.
  const repo = await openRepo(ctx, { chunkCacheBytes: EXPORT_CHUNK_CACHE_BYTES });
  try {
    const snap = await repo.snapshot(positionals[0]!);
    const bar = new ProgressBar('exporting', { format: formatBytes });
    let result;
    try {
      result = await exportSnapshot(snap, out, {
        format, only: values.only ?? '', strip: values.strip === true, nest: values.nest === true,
        onProgress: (e) => bar.update(e.bytesDone, e.bytesTotal),
      });
    } finally {
      bar.done();
    }
    if (ctx.json) printJson(ctx, { path: out, format, tensors: result.tensors, bytes: result.bytes });
    else ctx.out(`Wrote ${plural(result.tensors, 'tensor')} of ${snap.id} to ${out} (${format}, ${formatBytes(result.bytes)})`);
    return 0;
  } finally {
    await repo.close();
  }
}

async function exportOnnx(ctx: CliContext, ref: string, out: string, prefix: string, template: string | undefined, external: boolean): Promise<number> {
  const src = await openOnnxTemplate(template, 'export');
  const repo = await openRepo(ctx);
  try {
    const snap = await repo.snapshot(ref);
    const bar = new ProgressBar('exporting', { format: formatBytes });
    let result;
    try {
      result = await exportSnapshotToOnnx(snap, out, { template: src, only: prefix, externalData: external, onProgress: (e) => bar.update(e.bytesDone, e.bytesTotal) });
    } finally {
      bar.done();
    }
    if (ctx.json) printJson(ctx, { path: out, format: 'onnx', tensors: result.tensors, bytes: result.bytes });
    else ctx.out(`Wrote ${plural(result.tensors, 'tensor')} of ${snap.id} into ${out} (onnx from ${template}, ${formatBytes(result.bytes)})`);
    return 0;
  } finally {
    await repo.close();
    await src.close();
  }
}
