/**
 * @module Export into ONNX: a snapshot's tensors written into a copy of a template model (what
 * `engram export --format onnx --template MODEL.onnx` does).
 */
import type { ByteSource, OnnxCandidate } from '../formats/index.ts';
import type { Snapshot } from '../repo/index.ts';
import type { WriteResult } from './export-snapshot.ts';
import type { OnProgress } from './ops-progress.ts';
import { snapshotTensorNames } from './snapshot-tensor-names.ts';
import { writeOnnxOutput } from './write-onnx-output.ts';

/** Options of an export or conversion into an ONNX template. */
export interface OnnxOutputOptions {
  /** The model whose initializers the tensors replace; everything else is copied. The caller closes it. */
  readonly template: ByteSource;
  /**
   * Keep every weight of 1 KiB or more as external data; otherwise external data is kept as the
   * template keeps it. External data goes to `<output>.data` beside the output.
   */
  readonly externalData?: boolean;
}

/** Options of `exportSnapshotToOnnx`. */
export interface ExportOnnxOptions extends OnnxOutputOptions {
  /** Only the tensors whose name starts with this (default: all); it is dropped from the names matched. */
  readonly only?: string;
  /** Told `exporting` events as tensor bytes reach the writer. */
  readonly onProgress?: OnProgress;
}

/**
 * Writes `snap`'s tensors into a copy of `options.template` at `output`, replacing the initializers
 * they name (a tensor saved from a file matches by the name after its `path:`). A tensor that
 * matches no initializer is `NotFound`; memory holds one tensor at a time.
 *
 * @example
 * const template = await openFileSource('model.onnx');
 * try { await exportSnapshotToOnnx(snap, 'out.onnx', { template, only: 'model.onnx:' }); } finally { await template.close(); }
 */
export async function exportSnapshotToOnnx(snap: Snapshot, output: string, options: ExportOnnxOptions): Promise<WriteResult> {
  const prefix = options.only ?? '';
  const names = snapshotTensorNames(snap, prefix);
  const bytesTotal = names.reduce((s, n) => s + snap.tensorInfo(n).byteLength, 0);
  let bytesDone = 0;
  // Tensors are loaded one at a time as the writer reaches them, so memory stays at one tensor.
  const candidates: OnnxCandidate[] = names.map((name) => {
    const info = snap.tensorInfo(name);
    return {
      name: name.slice(prefix.length), dtype: info.dtype, shape: info.shape,
      load: async () => {
        const t = await snap.tensor(name);
        bytesDone += t.byteLength;
        options.onProgress?.({ phase: 'exporting', bytesDone, bytesTotal });
        return t.data;
      },
    };
  });
  const { bytes } = await writeOnnxOutput(output, options.template, candidates, options.externalData === true);
  return { path: output, format: 'onnx', tensors: names.length, bytes };
}
