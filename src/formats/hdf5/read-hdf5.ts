/**
 * @module Reads an HDF5 file (Keras .h5 weights and full-model files, or any HDF5 of numeric
 * datasets) into tensors and an exact layout. The HDF5 library (h5wasm) parses the file in a
 * worker thread; engram then finds each contiguous dataset's bytes in the file, so that they
 * become tensor segments and deduplicate with the same tensors from any other format.
 */
import { EngramError, formatError } from '../../errors/index.ts';
import { byteswap, dtypeSize, type DType } from '../../tensor/index.ts';
import type { ByteSource } from '../byte-source.ts';
import { layoutFile, type TensorRange } from '../file-layout.ts';
import { checkLoadable, fileTensor } from '../file-tensor.ts';
import type { IngestedFile, IngestedTensor } from '../ingested-file.ts';
import { h5wasmRead } from './h5wasm-host.ts';
import type { Hdf5Attr, Hdf5DatasetInfo, Hdf5ReadLimits } from './h5wasm-protocol.ts';
import { dtypeOfHdf5, ENGRAM_DTYPE_ATTR } from './hdf5-dtype.ts';
import { checkSuperblock } from './hdf5-superblock.ts';
import { orderDatasets } from './hdf5-tensor-order.ts';

/**
 * How many times its own size a file's datasets may hold once decompressed. Above this the file is
 * refused as unsupported (kept opaque by `readTensorFile`) rather than inflated: a small file that
 * claims gigabytes of elements is a decompression bomb or corrupt, and weights barely compress.
 */
export const HDF5_MAX_EXPANSION = 16;

/** Largest file handed to h5wasm: its wasm heap is 32-bit, and the file sits in memory. */
export const HDF5_MAX_FILE_BYTES = 1024 * 1024 * 1024;

/** Options of {@link readHdf5}. */
export interface ReadHdf5Options {
  /**
   * Milliseconds h5wasm may spend on the file; default 0.75 s plus 1 s per 5 MB (a 300 KB Keras file
   * takes ~10 ms). Past it the read is refused as unsupported, so `readTensorFile` keeps the file opaque.
   */
  readonly timeoutMs?: number;
}

/**
 * The filters h5wasm 0.10 is built with (deflate, shuffle, fletcher32, szip, nbit, scaleoffset). A
 * dataset the library cannot read through any other filter (blosc as PyTables writes it, lzf,
 * bitshuffle, zstd…) makes the file unsupported — kept opaque — rather than refused: the file is
 * valid, engram only lacks the decoder.
 */
const BUILTIN_FILTERS: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6]);

/** "blosc (32001)" for each filter of `d` h5wasm lacks, or all of them if none is foreign. */
function filterText(d: Hdf5DatasetInfo): string {
  const all = d.filters.map((id, i) => ({ id, name: d.filterNames?.[i] || 'unnamed' }));
  const foreign = all.filter((f) => !BUILTIN_FILTERS.has(f.id));
  return (foreign.length > 0 ? foreign : all).map((f) => `${f.name} (${f.id})`).join(', ');
}

/**
 * The error for datasets the HDF5 library could not decode. With a filter h5wasm lacks it is
 * "unsupported" (the file is kept opaque, `data.withheld` names each dataset and why, so asking for
 * one of them later can say so); otherwise the file is damaged: a FormatError.
 */
function undecodable(file: string, failed: readonly Hdf5DatasetInfo[]): EngramError {
  const foreign = failed.filter((d) => d.filters.some((id) => !BUILTIN_FILTERS.has(id)));
  if (foreign.length === 0) {
    const d = failed[0]!;
    return formatError(file, 0, `HDF5 library could not read dataset ${JSON.stringify(d.path)}: ${(d.readError ?? '').slice(0, 300)}`);
  }
  const withheld = foreign.map((d) => ({
    name: d.path,
    reason: `HDF5 dataset ${JSON.stringify(d.path)} is compressed with filter ${filterText(d)}, which engram cannot decode`,
  }));
  const first = withheld[0]!;
  const reason = `unsupported: ${first.reason}${withheld.length > 1 ? ` (and ${withheld.length - 1} more datasets)` : ''}`;
  return new EngramError('FormatError', `${file}: ${reason}`, { file, offset: 0, reason, withheld }, {});
}

// How many non-overlapping places are tried for a dataset's bytes before it is left literal.
const MAX_PLACEMENT_TRIES = 64;

function limitsFor(size: number): Hdf5ReadLimits {
  return {
    maxDataBytes: HDF5_MAX_EXPANSION * size + (1 << 20),
    maxAttrBytes: 4 * size + (64 << 10),
    maxObjects: Math.max(1024, Math.floor(size / 8)),
    // Keras nests 2–4 levels (model_weights/layer/layer/weight), nested models a few more.
    maxDepth: 32,
  };
}

function attrText(a: Hdf5Attr): string {
  return typeof a.value === 'string' ? a.value : JSON.stringify(a.value);
}

/** Metadata: root attributes by name (model_config, keras_version, backend, training_config), others as `path@name`. */
function metadataOf(groups: readonly { path: string; attrs: readonly Hdf5Attr[] }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const g of groups) {
    for (const a of g.attrs) {
      if (a.value === null) continue;
      out[g.path === '' ? a.name : `${g.path}@${a.name}`] = attrText(a);
    }
  }
  return out;
}

/**
 * A tensor whose canonical bytes came from h5wasm (chunked, compressed or not found verbatim). Its
 * file bytes stay literal, so it is `literalOnly`: a repository keeps the file and does not store
 * the decoded values a second time (engram cannot re-encode HDF5 chunks exactly).
 */
function memoryTensor(name: string, dtype: DType, shape: readonly number[], data: Uint8Array, reason: string): IngestedTensor {
  return { name, dtype, shape, byteLength: data.byteLength, load: async () => data, literalOnly: reason };
}

/** Why a dataset's values are not a range of the file. */
function literalReason(d: Hdf5DatasetInfo): string {
  const how = d.filters.length > 0 ? `chunked with filter ${filterText(d)}` : d.chunks !== null ? 'chunked' : 'not found verbatim in the file';
  return `HDF5 dataset ${JSON.stringify(d.path)} is ${how}: its file bytes are kept as they are (engram cannot re-encode them exactly), so the values are not stored a second time`;
}

/** Sorted, non-overlapping ranges already given to tensors. */
class Placements {
  readonly ranges: [number, number][] = [];
  overlaps(start: number, end: number): boolean {
    return this.ranges.some(([s, e]) => start < e && s < end);
  }
  add(start: number, end: number): void {
    this.ranges.push([start, end]);
  }
}

/**
 * Where `stored` sits in `file`, at a place no other tensor holds, or -1. Correct by construction:
 * a tensor segment is placed only where the file's bytes equal the tensor's stored bytes, so the
 * layout rebuilds the file exactly even when the same bytes sit in more than one place.
 */
function place(file: Buffer, stored: Uint8Array, taken: Placements): number {
  let from = 0;
  for (let tries = 0; tries < MAX_PLACEMENT_TRIES; tries++) {
    const at = file.indexOf(stored, from);
    if (at < 0) return -1;
    if (!taken.overlaps(at, at + stored.byteLength)) return at;
    from = at + 1;
  }
  return -1;
}

/**
 * How long the HDF5 library may take on one file before the read is given up (and the file kept
 * opaque). libhdf5 can loop on a crafted file, so some limit must exist; but a valid file must
 * never turn opaque because the machine is busy, so the limit is far above any real read: a minute
 * plus one second per megabyte (real reads run at hundreds of MB/s).
 */
export function hdf5ReadTimeoutMs(fileBytes: number): number {
  return 60_000 + Math.ceil(fileBytes / 1000);
}

/**
 * Reads an HDF5 file. Every numeric dataset (IEEE floats, integers, h5py's bool enum) is a tensor
 * named by its path without the leading '/': for a Keras weights file `conv2d/conv2d/kernel:0`
 * (the layer group, then the weight name Keras lists in `weight_names`), for a full-model file
 * `model_weights/conv2d/conv2d/kernel:0` and `optimizer_weights/Adam/iter:0`. Tensors come in
 * Keras's order (`layer_names`, `weight_names`), then any other dataset in link order.
 *
 * Contiguous datasets are tensor segments at their bytes in the file (big-endian ones with a byte
 * order encoding). Chunked or compressed datasets keep their file bytes literal — the file still
 * comes back exactly — and their tensors are extracted through h5wasm. Attributes are metadata:
 * root ones by name (`model_config`, `training_config`, `keras_version`, `backend`), others as
 * `group/path@name`. Strings, compounds and references are not tensors and stay literal.
 *
 * A file that is not HDF5 or is truncated is a `FormatError` found before the HDF5 library sees
 * it; anything the library refuses, aborts on or hangs on (it runs in a worker with a timeout) is a
 * `FormatError` too. Files over {@link HDF5_MAX_FILE_BYTES}, datasets holding over
 * {@link HDF5_MAX_EXPANSION}× the file's size, or a file h5wasm does not finish within the timeout
 * are FormatErrors whose reason starts with `unsupported`, which `readTensorFile` keeps opaque.
 *
 * @example const file = await readHdf5(await openFileSource('model.h5'));
 */
export async function readHdf5(src: ByteSource, options: ReadHdf5Options = {}): Promise<IngestedFile> {
  if (src.size > HDF5_MAX_FILE_BYTES) {
    throw formatError(src.name, 0, `unsupported: HDF5 files over ${HDF5_MAX_FILE_BYTES} bytes (h5wasm holds the file in a 32-bit heap)`);
  }
  // h5wasm needs the file whole (the worker opens a temporary copy): read once, bounded above.
  const whole = await src.read(0, src.size);
  const bytes = Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength); // a view, not a copy
  checkSuperblock(src.name, bytes);
  const timeoutMs = options.timeoutMs ?? hdf5ReadTimeoutMs(src.size);
  const result = await h5wasmRead(bytes, limitsFor(src.size), timeoutMs);
  if ('error' in result) {
    throw formatError(src.name, 0, `${result.limit ? 'unsupported: ' : ''}HDF5 library refused the file: ${result.error.slice(0, 500)}`);
  }
  const { tree } = result;
  const byPath = new Map<string, Hdf5DatasetInfo>(tree.datasets.map((d) => [d.path, d]));
  const taken = new Placements();
  const ranges: TensorRange[] = [];
  const tensors: IngestedTensor[] = [];
  const failed = tree.datasets.filter((d) => d.readError !== undefined && dtypeOfHdf5(d.type) !== undefined);
  if (failed.length > 0) throw undecodable(src.name, failed);
  for (const path of orderDatasets(tree)) {
    const d = byPath.get(path)!;
    let dtype = dtypeOfHdf5(d.type);
    if (!dtype || !d.shape || !d.data) continue;
    if (dtype === 'U8' && d.attrs.some((a) => a.name === ENGRAM_DTYPE_ATTR && a.value === 'BOOL')) dtype = 'BOOL';
    const shape = [...d.shape];
    const data = d.data;
    if (data.byteLength !== shape.reduce((a, b) => a * b, 1) * dtypeSize(dtype)) {
      throw formatError(src.name, 0, `dataset ${JSON.stringify(path)} gave ${data.byteLength} bytes for shape [${shape.join(', ')}] of ${dtype}`);
    }
    checkLoadable(path, data.byteLength);
    const contiguous = d.chunks === null && d.filters.length === 0 && data.byteLength > 0;
    const bigEndian = !d.type.littleEndian && dtypeSize(dtype) > 1;
    if (contiguous) {
      const stored = bigEndian ? byteswap(data, dtypeSize(dtype)) : data;
      const at = place(bytes, stored, taken);
      if (at >= 0) {
        taken.add(at, at + stored.byteLength);
        const encoding = bigEndian ? { byteOrder: 'big' as const } : undefined;
        ranges.push({ start: at, length: stored.byteLength, tensor: path, encoding });
        tensors.push(fileTensor(src, { name: path, dtype, shape, byteLength: data.byteLength, offset: at, encoding }));
        continue;
      }
    }
    tensors.push(memoryTensor(path, dtype, shape, data, literalReason(d)));
  }
  const layout = await layoutFile(src, ranges);
  return { format: 'hdf5', size: src.size, tensors, ...layout, metadata: metadataOf(tree.groups) };
}
