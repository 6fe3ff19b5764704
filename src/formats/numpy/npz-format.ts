/** @module .npz as a registered format: a zip of .npy members, as `numpy.savez` writes it. */
import type { TensorFormat } from '../tensor-format.ts';
import { NUMPY_DTYPES } from './npy-dtype.ts';
import { readNpz } from './read-npz.ts';
import { npzSteps, writeNpz } from './write-npz.ts';

/** True for the local-file or end-of-directory signature a zip starts with (`PK\3\4`, `PK\5\6` when empty). */
function isZipHead(head: Uint8Array): boolean {
  return head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
}

/**
 * .npz: a zip magic and the `.npz` name together (other zips — PyTorch's among them — are not
 * npz); a valid archive holding what engram lacks (encrypted or non-deflate members, object
 * arrays) is kept opaque.
 */
export const npzFormat: TensorFormat = {
  name: 'npz',
  extensions: ['.npz'],
  detectors: [{
    by: 'magic', precedence: 20, opaqueWhenUnsupported: true,
    detect: ({ head, lowerName }) => (isZipHead(head) && lowerName.endsWith('.npz') ? (src) => readNpz(src) : undefined),
  }],
  writer: {
    name: 'npz',
    canHold: (dtype) => NUMPY_DTYPES.has(dtype),
    output: { kind: 'file', write: (tensors) => writeNpz(tensors), steps: (tensors) => npzSteps(tensors) },
  },
};
