/** @module .npy as a registered format: one array, recognised by its magic whatever the file's name. */
import { EngramError } from '../../errors/index.ts';
import { magicDetector, type TensorFormat } from '../tensor-format.ts';
import { NUMPY_DTYPES } from './npy-dtype.ts';
import { NPY_MAGIC } from './npy-header.ts';
import { readNpy } from './read-npy.ts';
import { npySteps, writeNpy } from './write-npy.ts';

/** .npy: checked first of all (its magic is unambiguous); a valid file numpy-only types fill is kept opaque. */
export const npyFormat: TensorFormat = {
  name: 'npy',
  extensions: ['.npy'],
  detectors: [magicDetector(NPY_MAGIC, 10, (src) => readNpy(src))],
  writer: {
    name: 'npy',
    canHold: (dtype) => NUMPY_DTYPES.has(dtype),
    refuseSet: (tensors) => tensors.length === 1 ? undefined : new EngramError('Unsupported', `.npy holds exactly one tensor, not ${tensors.length}; write .npz or .safetensors instead`, {
      format: 'npy', tensors: tensors.length, suggest: 'npz',
    }, { hint: 'Write --format npz or safetensors (one file of many tensors), or pick one tensor (engram get … -o out.npy).' }),
    output: { kind: 'file', write: (tensors) => writeNpy(tensors[0]!), steps: (tensors) => npySteps(tensors[0]!) },
  },
};
