/** @module ONNX as a registered format: a model by its extension, an external data file by its owner beside it. */
import type { TensorFormat } from '../tensor-format.ts';
import { readOnnx } from './read-onnx.ts';
import { readOnnxExternalData } from './read-onnx-external-data.ts';

/**
 * ONNX: a `.onnx` model (confirmed by parsing it), and late, among the last content probes, an
 * external data file a sibling model points into (found by reading that model). Written only into
 * a template model (planOnnxWrite), so it registers no writer.
 */
export const onnxFormat: TensorFormat = {
  name: 'onnx',
  extensions: ['.onnx'],
  detectors: [
    {
      by: 'name', precedence: 70, opaqueWhenUnsupported: true,
      detect: ({ lowerName }) => (lowerName.endsWith('.onnx') ? (src) => readOnnx(src) : undefined),
    },
    {
      // The probe is the read: the file is external data only when a model beside it says so.
      by: 'content', precedence: 90, opaqueWhenUnsupported: false,
      detect: async ({ src }) => {
        const file = await readOnnxExternalData(src);
        return file && (async () => file);
      },
    },
  ],
};
