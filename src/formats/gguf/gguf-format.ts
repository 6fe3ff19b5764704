/** @module GGUF as a registered format: recognised by its magic, written as ggml lays it out. */
import { magicDetector, type TensorFormat, type WithMetadata } from '../tensor-format.ts';
import { ggmlTypeByName } from './ggml-type.ts';
import type { GgufKv } from './gguf-value.ts';
import { GGUF_MAGIC, readGguf } from './read-gguf.ts';
import { ggufSteps, writeGguf } from './write-gguf.ts';

/** String metadata as GGUF key/values, in the order given. */
function stringKvs(metadata: Readonly<Record<string, string>> | undefined): GgufKv[] {
  return Object.entries(metadata ?? {}).map(([key, value]) => ({ key, type: 'STRING' as const, value }));
}

/**
 * GGUF: its magic `GGUF`, whatever the file's name. Holds a dtype when a ggml type of the same
 * name stores it (the dense ggml type names are the engram dtype names), so `type: t.dtype` below.
 */
export const ggufFormat: TensorFormat<object, WithMetadata> = {
  name: 'gguf',
  extensions: ['.gguf'],
  detectors: [magicDetector(GGUF_MAGIC, 30, (src) => readGguf(src))],
  writer: {
    name: 'gguf',
    canHold: (dtype) => ggmlTypeByName(dtype)?.dtype === dtype,
    output: {
      kind: 'file',
      write: (tensors, o) => writeGguf({
        metadata: stringKvs(o.metadata),
        tensors: tensors.map((t) => ({ name: t.name, type: t.dtype, shape: t.shape, data: t.data })),
      }),
      steps: (tensors, o) => ggufSteps({
        metadata: stringKvs(o.metadata),
        tensors: tensors.map((t) => ({ name: t.name, type: t.dtype, shape: t.shape, byteLength: t.byteLength })),
      }),
    },
  },
};
