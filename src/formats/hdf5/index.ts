/** @module Public surface of formats/hdf5/. */
export { readHdf5, HDF5_MAX_EXPANSION, HDF5_MAX_FILE_BYTES } from './read-hdf5.ts';
export type { ReadHdf5Options } from './read-hdf5.ts';
export { writeHdf5 } from './write-hdf5.ts';
export type { Hdf5TensorInput, WriteHdf5Options } from './write-hdf5.ts';
export { HDF5_MAGIC } from './hdf5-superblock.ts';
export { hdf5Format } from './hdf5-format.ts';
