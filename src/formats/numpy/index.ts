/** @module Public surface of formats/numpy/: .npy and .npz. */
export { NPY_MAGIC } from './npy-header.ts';
export { NUMPY_DTYPES } from './npy-dtype.ts';
export { readNpy } from './read-npy.ts';
export { readNpz } from './read-npz.ts';
export { npySteps, writeNpy } from './write-npy.ts';
export { npzSteps, writeNpz } from './write-npz.ts';
export { npyFormat } from './npy-format.ts';
export { npzFormat } from './npz-format.ts';
