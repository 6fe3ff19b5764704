/**
 * @module Reads a NumPy .npy file: one tensor, named '', whose bytes the layout references in place.
 */
import type { ByteSource } from '../byte-source.ts';
import { fileTensor } from '../file-tensor.ts';
import { layoutFile } from '../file-layout.ts';
import type { IngestedFile } from '../ingested-file.ts';
import { readNpyHeader } from './npy-header.ts';

/**
 * Reads an .npy (format versions 1.0, 2.0 and 3.0). A big-endian or Fortran-order array is one
 * tensor segment with an encoding, so the file rebuilds exactly while the tensor is stored in
 * canonical order. Bytes after the array (numpy never writes any) are kept as literal.
 *
 * @example const file = await readNpy(await openFileSource('w.npy'));
 */
export async function readNpy(src: ByteSource): Promise<IngestedFile> {
  const header = await readNpyHeader((o, l) => src.read(o, l), src.name, 0, src.size);
  const tensor = fileTensor(src, {
    name: '', dtype: header.dtype, shape: header.shape, byteLength: header.byteLength,
    offset: header.dataOffset, encoding: header.encoding,
  });
  const layout = await layoutFile(src, [{ start: header.dataOffset, length: header.byteLength, tensor: '', encoding: header.encoding }]);
  return { format: 'npy', size: src.size, tensors: [tensor], ...layout };
}
