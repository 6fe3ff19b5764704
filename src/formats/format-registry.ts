/**
 * @module Every format engram reads or writes, registered once: `readTensorFile` asks their
 * detectors in precedence order, and the write functions find a format's writer here by its
 * `--format` name. Adding a format is one folder and one line in {@link FORMATS}.
 */
import { EngramError } from '../errors/index.ts';
import type { ByteSource } from './byte-source.ts';
import { ggufFormat } from './gguf/index.ts';
import { hdf5Format, type ReadHdf5Options } from './hdf5/index.ts';
import { npyFormat, npzFormat } from './numpy/index.ts';
import { onnxFormat } from './onnx/index.ts';
import { pytorchFormat, type WritePytorchOptions } from './pytorch/index.ts';
import { safetensorsFormat } from './safetensors/index.ts';
import type { FileProbe, FormatDetector, FormatReader, TensorFormat, TensorFormatWriter, WithMetadata, WritableFormat } from './tensor-format.ts';
import { tfjsFormat } from './tfjs/index.ts';

/** Options of `readTensorFile`, passed on to the reader of the detected format (each reads its own key). */
export interface ReadTensorFileOptions {
  /** For HDF5 files (e.g. a short `timeoutMs` where giving up is acceptable, as in a fuzz run). */
  readonly hdf5?: ReadHdf5Options;
}

/** What `streamTensorFile` (and the other writers) write besides the tensors. */
export interface StreamTensorFileOptions extends WithMetadata {
  /** For pt: the checkpoint object and archive name (default: a state dict). */
  readonly torch?: WritePytorchOptions;
}

/** A registered format, with the options bags its reader and writer are handed. */
export type RegisteredFormat = TensorFormat<ReadTensorFileOptions, StreamTensorFileOptions>;

// In the order a suggestion prefers their writers ("write .npz instead"); detection has its own
// order, the detectors' precedence.
const FORMATS: readonly RegisteredFormat[] = [
  safetensorsFormat, npzFormat, ggufFormat, npyFormat, tfjsFormat, pytorchFormat, hdf5Format, onnxFormat,
];

interface RankedDetector {
  readonly format: RegisteredFormat;
  readonly detector: FormatDetector<ReadTensorFileOptions>;
}

// Stable sort: detectors of equal precedence keep registration order.
const DETECTORS: readonly RankedDetector[] = FORMATS
  .flatMap((format) => format.detectors.map((detector) => ({ format, detector })))
  .sort((a, b) => a.detector.precedence - b.detector.precedence);

/** Every registered format, once each, in the order a suggestion prefers their writers. */
export function tensorFormats(): readonly RegisteredFormat[] {
  return FORMATS;
}

/** The format called `name`, by its read name (`pytorch`, `hdf5`) or its `--format` name (`pt`, `h5`); undefined when none is. */
export function formatByName(name: string): RegisteredFormat | undefined {
  return FORMATS.find((f) => f.name === name || f.writer?.name === name);
}

/** The writer of `format`; `InvalidArgument` for a name no registered format writes. */
export function writerOf(format: WritableFormat): TensorFormatWriter<StreamTensorFileOptions> {
  const writer = FORMATS.find((f) => f.writer?.name === format)?.writer;
  if (!writer) throw new EngramError('InvalidArgument', `no format writes ${JSON.stringify(format)}`, { format });
  return writer;
}

/** What {@link detectFile} found: the format, the detector that matched, and how to read the file. */
export interface DetectedFile {
  readonly format: RegisteredFormat;
  readonly detector: FormatDetector<ReadTensorFileOptions>;
  /** A reader, or `'opaque'` when the format claims the file but it holds no tensors. */
  readonly read: FormatReader<ReadTensorFileOptions> | 'opaque';
}

/**
 * Asks each registered detector in precedence order and returns the first that claims `src`;
 * undefined when none does (the file is opaque).
 */
export async function detectFile(src: ByteSource): Promise<DetectedFile | undefined> {
  const head = await src.read(0, Math.min(8, src.size));
  const probe: FileProbe = { src, head, lowerName: src.name.toLowerCase() };
  for (const { format, detector } of DETECTORS) {
    const read = await detector.detect(probe);
    if (read !== undefined) return { format, detector, read };
  }
  return undefined;
}

/**
 * The format `src` is, as `readTensorFile` would read it; undefined for a file it keeps opaque
 * without reading further (no detector claims it, or one claims it but it holds no tensors).
 *
 * @example (await detectTensorFormat(bufferSource('m.safetensors', bytes)))?.name === 'safetensors'
 */
export async function detectTensorFormat(src: ByteSource): Promise<RegisteredFormat | undefined> {
  const found = await detectFile(src);
  return found && found.read !== 'opaque' ? found.format : undefined;
}
