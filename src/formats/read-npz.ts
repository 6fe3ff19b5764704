/**
 * @module Reads a NumPy .npz: a zip of .npy members. Stored members' arrays are referenced in
 * place; deflated members stay literal (re-deflating would not reproduce the same bytes) while
 * their tensors are still exposed, inflated on `load()`.
 */
import { formatError } from '../errors/index.ts';
import { decodeSegmentBytes } from '../tensor/index.ts';
import type { ByteSource } from './byte-source.ts';
import { checkLoadable, fileTensor } from './file-tensor.ts';
import { layoutFile, type TensorRange } from './file-layout.ts';
import { inflateMember, inflatePrefix, MAX_INFLATED_BYTES } from './inflate-member.ts';
import type { IngestedFile, IngestedTensor } from './ingested-file.ts';
import { readNpyHeader, type NpyByteReader } from './npy-header.ts';
import { readZipDirectory, type ZipEntry } from './zip-directory.ts';

/** An .npy reader over the inflated bytes of a deflated member, inflating only what is asked. */
function prefixReader(src: ByteSource, entry: ZipEntry, label: string): NpyByteReader {
  let inflated: Uint8Array = new Uint8Array(0);
  return async (offset, length) => {
    if (inflated.byteLength < offset + length) inflated = await inflatePrefix(src, entry, offset + length);
    if (inflated.byteLength < offset + length) {
      throw formatError(label, offset, `inflates to fewer bytes than the ${entry.uncompressedSize} the directory declares`);
    }
    return inflated.subarray(offset, offset + length);
  };
}

/**
 * Reads an .npz. Tensors are named after their members without `.npy`; other members are kept
 * as literal bytes. An encrypted member, an unknown compression method or an unsupported dtype
 * is a FormatError whose reason starts with 'unsupported'.
 *
 * @example const file = await readNpz(bufferSource('a.npz', bytes));
 */
export async function readNpz(src: ByteSource): Promise<IngestedFile> {
  const entries = await readZipDirectory(src);
  const tensors: IngestedTensor[] = [];
  const ranges: TensorRange[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (!entry.name.endsWith('.npy')) continue;
    const name = entry.name.slice(0, -4);
    if (seen.has(name)) throw formatError(src.name, entry.localHeaderOffset, `duplicate member ${entry.name}`);
    seen.add(name);
    if (entry.flags & 1) throw formatError(src.name, entry.localHeaderOffset, `unsupported encrypted member ${entry.name}`);
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.uncompressedSize) {
        throw formatError(src.name, entry.localHeaderOffset, `stored member ${entry.name} has different compressed and uncompressed sizes`);
      }
      const h = await readNpyHeader((o, l) => src.read(entry.dataOffset + o, l), src.name, entry.dataOffset, entry.compressedSize);
      const offset = entry.dataOffset + h.dataOffset;
      tensors.push(fileTensor(src, { name, dtype: h.dtype, shape: h.shape, byteLength: h.byteLength, offset, encoding: h.encoding }));
      ranges.push({ start: offset, length: h.byteLength, tensor: name, encoding: h.encoding });
    } else if (entry.method === 8) {
      if (entry.uncompressedSize > MAX_INFLATED_BYTES) {
        throw formatError(src.name, entry.localHeaderOffset, `unsupported deflated member ${entry.name} of ${entry.uncompressedSize} bytes (over ${MAX_INFLATED_BYTES})`);
      }
      const label = `${src.name} (member ${entry.name}, inflated)`;
      const h = await readNpyHeader(prefixReader(src, entry, label), label, 0, entry.uncompressedSize);
      tensors.push({
        name, dtype: h.dtype, shape: h.shape, byteLength: h.byteLength,
        async load() {
          checkLoadable(name, h.byteLength);
          const npy = await inflateMember(src, entry);
          return decodeSegmentBytes(npy.subarray(h.dataOffset, h.dataOffset + h.byteLength), h.dtype, h.shape, h.encoding);
        },
      });
    } else {
      throw formatError(src.name, entry.localHeaderOffset, `unsupported compression method ${entry.method} for member ${entry.name}`);
    }
  }
  const layout = await layoutFile(src, ranges);
  return { format: 'npz', size: src.size, tensors, ...layout };
}
