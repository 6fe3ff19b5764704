/**
 * @module Convert: any file engram reads, rewritten in another format, atomically; no repository
 * (what `engram convert` does).
 */
import { basename, extname } from 'node:path';
import { EngramError } from '../errors/index.ts';
import { checkWritable, openFileSource, readTensorFile, type ByteSource, type FormatName, type WritableFormat } from '../formats/index.ts';
import type { LazyNamedTensor } from '../tensor/index.ts';
import type { WriteResult } from './export-snapshot.ts';
import type { OnnxOutputOptions } from './export-snapshot-to-onnx.ts';
import type { OnProgress } from './ops-progress.ts';
import { writeOnnxOutput } from './write-onnx-output.ts';
import { writeTensorOutput } from './write-tensor-output.ts';

/** Options of `convertFile`. */
export interface ConvertOptions {
  /** The format to write. */
  readonly format: WritableFormat;
  /** Told `converting` events as tensor bytes reach the writer. */
  readonly onProgress?: OnProgress;
}

/** A conversion's result: what it wrote, and the format it read. */
export interface ConvertResult extends WriteResult {
  /** The format the input was read as. */
  readonly inputFormat: FormatName;
}

/** Runs `use` on the input, opening (and then closing) it when it is a path. */
async function withInput<T>(input: string | ByteSource, use: (src: ByteSource, label: string) => Promise<T>): Promise<T> {
  if (typeof input !== 'string') return use(input, input.name);
  const src = await openFileSource(input);
  try {
    return await use(src, input);
  } finally {
    await src.close();
  }
}

/**
 * Reads `input` (a path, or a `ByteSource` the caller closes) and writes its tensors to `output`
 * as `options.format`. A FormatError or UnsafePickle from reading propagates with its own code; a
 * file with no readable tensor is `Unsupported`, a tensor the format cannot hold is refused before
 * any is written. A bare .npy's one unnamed tensor is named after the file. String metadata is
 * kept where both formats keep it the same way (safetensors and TF.js → safetensors, h5 → h5).
 *
 * @example await convertFile('model.pt', 'model.safetensors', { format: 'safetensors' });
 */
export function convertFile(input: string | ByteSource, output: string, options: ConvertOptions): Promise<ConvertResult> {
  const { format } = options;
  return withInput(input, async (src, label) => {
    const file = await readTensorFile(src);
    if (file.tensors.length === 0) {
      const why = file.withheld?.length ? `: ${file.withheld.map((w) => w.reason).join('; ')}`
        : file.opaqueReason ? `: ${file.opaqueReason}` : ` (it was read as ${file.format})`;
      throw new EngramError('Unsupported', `${label} holds no tensors engram can read${why}`, { path: label, format: file.format, ...(file.withheld ? { withheld: file.withheld } : {}) });
    }
    // A bare .npy has one unnamed tensor: name it after the file.
    const nameOf = (n: string): string => n || basename(label, extname(label));
    const refused = checkWritable(format, file.tensors.map((t) => ({ name: nameOf(t.name), dtype: t.dtype })));
    if (refused) throw refused;

    const bytesTotal = file.tensors.reduce((s, t) => s + t.byteLength, 0);
    let bytesDone = 0;
    // Each tensor is read from the input when the writer reaches it, so memory holds one tensor, not the output.
    const tensors: LazyNamedTensor[] = file.tensors.map((t) => ({
      name: nameOf(t.name), dtype: t.dtype, shape: t.shape, byteLength: t.byteLength,
      load: async () => {
        const data = await t.load();
        bytesDone += t.byteLength;
        options.onProgress?.({ phase: 'converting', bytesDone, bytesTotal });
        return data;
      },
    }));
    // Only safetensors carries string metadata the same way (`__metadata__`), so only it keeps it;
    // h5 → h5 keeps the Keras attributes (model_config, training_config, …) the same way. TF.js →
    // safetensors keeps `weight:<name>`: a quantized weight's U8/F16 bytes mean nothing without it.
    const keepMetadata = (format === 'safetensors' && (file.format === 'safetensors' || file.format === 'tfjs')) || (format === 'h5' && file.format === 'hdf5');
    const bytes = await writeTensorOutput(output, format, tensors, keepMetadata && file.metadata ? { metadata: file.metadata } : {});
    return { path: output, format, inputFormat: file.format, tensors: tensors.length, bytes };
  });
}

/**
 * Reads `input` (a path, or a `ByteSource` the caller closes) and writes its tensors into a copy
 * of the ONNX model `options.template` at `output`, replacing the initializers they name.
 *
 * @example await convertFileToOnnx('weights.safetensors', 'out.onnx', { template });
 */
export function convertFileToOnnx(input: string | ByteSource, output: string, options: OnnxOutputOptions): Promise<ConvertResult> {
  return withInput(input, async (src) => {
    const file = await readTensorFile(src);
    const candidates = file.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, load: () => t.load() }));
    const { bytes, replaced } = await writeOnnxOutput(output, options.template, candidates, options.externalData === true);
    return { path: output, format: 'onnx', inputFormat: file.format, tensors: replaced, bytes };
  });
}
