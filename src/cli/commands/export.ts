/**
 * @module `engram export <ref> --format F -o PATH`: writes a snapshot's tensors (all, or those under
 * a prefix) as one file of another format, atomically.
 */
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { EngramError } from '../../errors/index.ts';
import {
  checkWritable, nestedTorchObject, openFileSource, planOnnxFromTensors, type LazyTensorInput, type OnnxCandidate, type OnnxWritePlan,
} from '../../formats/index.ts';
import { writeFileAtomic } from '../../repo/index.ts';
import { openRepo, printJson, type CliContext } from '../cli-context.ts';
import { formatBytes } from '../format-bytes.ts';
import { plural } from '../plural.ts';
import { parseWritableFormat } from '../parse-writable-format.ts';
import { ProgressBar } from '../progress-bar.ts';
import { writeTensorOutput } from '../write-tensor-output.ts';

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

/** Decoded chunks an export keeps: chunks of up to a quarter of this are cached (see ChunkReader). */
const EXPORT_CHUNK_CACHE = 16 << 20;

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
  const repo = await openRepo(ctx, { chunkCacheBytes: EXPORT_CHUNK_CACHE });
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
    let done = 0;
    // Each tensor is loaded when the writer reaches it, into one scratch buffer the size of the
    // largest: the writer has written a tensor before it asks for the next, so the export holds
    // one tensor, never the output, and leaves no garbage of dead tensors for the GC to find.
    let scratch: Uint8Array | undefined;
    const largest = names.reduce((m, n) => Math.max(m, snap.tensorInfo(n).byteLength), 0);
    const tensors: LazyTensorInput[] = names.map((name) => {
      const info = snap.tensorInfo(name);
      return {
        // --strip writes `conv.weight` for `model.pt:conv.weight` under --only model.pt: (a usable state dict).
        name: values.strip ? name.slice(prefix.length) : name, dtype: info.dtype, shape: info.shape, byteLength: info.byteLength,
        load: async () => {
          scratch ??= new Uint8Array(largest);
          const t = await snap.tensor(name, { into: scratch.subarray(0, info.byteLength) });
          done += t.byteLength;
          bar.update(done, total);
          return t.data;
        },
      };
    });
    let written: number;
    try {
      // --nest: `model/w`, `optimizer/m/w` become nested dicts, a training checkpoint's shape.
      written = await writeTensorOutput(out, format, tensors, values.nest ? { torch: { object: nestedTorchObject(tensors.map((t) => t.name)) } } : {});
    } finally {
      bar.done();
    }
    if (ctx.json) printJson(ctx, { path: out, format, tensors: tensors.length, bytes: written });
    else ctx.out(`Wrote ${plural(tensors.length, 'tensor')} of ${snap.id} to ${out} (${format}, ${formatBytes(written)})`);
    return 0;
  } finally {
    await repo.close();
  }
}

/** True for the ONNX format name, which is written into a template rather than from scratch. */
export function isOnnxFormat(name: string): boolean {
  return name.toLowerCase().replace(/^\./, '') === 'onnx';
}

/**
 * Writes an ONNX plan: the external data file first, then the model, each atomically, so a model
 * never names a data file that is not there yet. Returns the bytes written.
 */
export async function writeOnnxFiles(out: string, plan: OnnxWritePlan): Promise<number> {
  let written = 0;
  if (plan.dataLocation !== undefined) written += await writeFileAtomic(join(dirname(out), plan.dataLocation), plan.data());
  return written + (await writeFileAtomic(out, plan.model()));
}

/** Checks `--template` for an ONNX output and opens it. */
export async function onnxTemplate(template: string | undefined, command: string): Promise<Awaited<ReturnType<typeof openFileSource>>> {
  if (!template) {
    throw new EngramError('InvalidArgument', `engram ${command} writes ONNX by putting new weights into an existing model: give --template MODEL.onnx`, { format: 'onnx' });
  }
  return openFileSource(template);
}

/**
 * How an ONNX output keeps external data: as its template does, or (`--external-data`) for every
 * weight of 1 KiB or more; always in `<output name>.data`, so it never overwrites the template's.
 */
export function onnxExternalOptions(out: string, force: boolean): { externalData?: boolean; externalThreshold?: number; dataLocation: string } {
  return { dataLocation: `${basename(out)}.data`, ...(force ? { externalData: true, externalThreshold: 1024 } : {}) };
}

async function exportOnnx(ctx: CliContext, ref: string, out: string, prefix: string, template: string | undefined, external: boolean): Promise<number> {
  const src = await onnxTemplate(template, 'export');
  const repo = await openRepo(ctx);
  try {
    const snap = await repo.snapshot(ref);
    const names = snap.tensorNames().filter((n) => n.startsWith(prefix));
    if (names.length === 0) {
      throw new EngramError('NotFound', `snapshot ${snap.id} has no tensor${prefix ? ` starting with ${JSON.stringify(prefix)}` : 's'}`, { snapshot: snap.id, prefix });
    }
    const total = names.reduce((s, n) => s + snap.tensorInfo(n).byteLength, 0);
    const bar = new ProgressBar('exporting', { format: formatBytes });
    let done = 0;
    // Tensors are loaded one at a time as the writer reaches them, so memory stays at one tensor.
    const candidates: OnnxCandidate[] = names.map((name) => {
      const info = snap.tensorInfo(name);
      return {
        name: name.slice(prefix.length), dtype: info.dtype, shape: info.shape,
        load: async () => {
          const t = await snap.tensor(name);
          done += t.byteLength;
          bar.update(done, total);
          return t.data;
        },
      };
    });
    let written: number;
    try {
      const plan = await planOnnxFromTensors(src, candidates, onnxExternalOptions(out, external));
      written = await writeOnnxFiles(out, plan);
    } finally {
      bar.done();
    }
    if (ctx.json) printJson(ctx, { path: out, format: 'onnx', tensors: names.length, bytes: written });
    else ctx.out(`Wrote ${plural(names.length, 'tensor')} of ${snap.id} into ${out} (onnx from ${template}, ${formatBytes(written)})`);
    return 0;
  } finally {
    await repo.close();
    await src.close();
  }
}
