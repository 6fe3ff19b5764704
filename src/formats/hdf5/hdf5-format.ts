/** @module HDF5 (Keras .h5 and others) as a registered format: its signature at offset 0; h5wasm reads and writes it. */
import { magicDetector, type TensorFormat, type WithMetadata } from '../tensor-format.ts';
import { hdf5WriteDtype } from './hdf5-dtype.ts';
import { HDF5_MAGIC } from './hdf5-superblock.ts';
import { readHdf5, type ReadHdf5Options } from './read-hdf5.ts';
import { writeHdf5 } from './write-hdf5.ts';

/**
 * HDF5: the signature at offset 0, whatever the name; a file too large or expanding too far is
 * refused as unsupported and so kept opaque. Written whole by h5wasm in a worker thread, so it has
 * no synchronous or streaming writer.
 */
export const hdf5Format: TensorFormat<{ readonly hdf5?: ReadHdf5Options }, WithMetadata> = {
  name: 'hdf5',
  extensions: ['.h5', '.hdf5'],
  detectors: [magicDetector(HDF5_MAGIC, 40, (src, o: { readonly hdf5?: ReadHdf5Options }) => readHdf5(src, o.hdf5))],
  writer: {
    name: 'h5',
    canHold: (dtype) => hdf5WriteDtype(dtype) !== undefined,
    output: { kind: 'whole', builtBy: 'h5wasm in a worker thread', write: (tensors, o) => writeHdf5(tensors, o.metadata) },
  },
};
