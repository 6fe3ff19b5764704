/** @module safetensors as a registered format: recognised by its extension, written by the crate's rules. */
import type { TensorFormat, WithMetadata } from '../tensor-format.ts';
import { readSafetensors } from './read-safetensors.ts';
import { safetensorsSteps, writeSafetensors } from './write-safetensors.ts';

/**
 * safetensors: found by name only (its header is JSON behind a length, no magic), after every magic
 * and PyTorch's content probe; a malformed file is refused, never kept opaque. Holds every dense dtype.
 */
export const safetensorsFormat: TensorFormat<object, WithMetadata> = {
  name: 'safetensors',
  extensions: ['.safetensors'],
  detectors: [{
    by: 'name', precedence: 60, opaqueWhenUnsupported: false,
    detect: ({ lowerName }) => (lowerName.endsWith('.safetensors') ? (src) => readSafetensors(src) : undefined),
  }],
  writer: {
    name: 'safetensors',
    canHold: () => true,
    output: { kind: 'file', write: (tensors, o) => writeSafetensors(tensors, o.metadata), steps: (tensors, o) => safetensorsSteps(tensors, o.metadata) },
  },
};
