/** @module TensorFlow.js models as a registered format: model.json by name, weight shards by content. */
import type { NamedTensor } from '../../tensor/index.ts';
import type { TensorFormat, WithMetadata } from '../tensor-format.ts';
import { readModelJson, readTfjsModel } from './read-tfjs-model.ts';
import { readTfjsShard } from './read-tfjs-shard.ts';
import { streamTfjsModel, TFJS_WRITABLE_DTYPES, writeTfjsModel } from './write-tfjs-model.ts';

/** Model weights first, then the ones named `optimizer/…` in TF.js's optimizer group (as `includeOptimizer` writes them). */
function byGroup<T extends Pick<NamedTensor, 'name'>>(tensors: readonly T[], metadata: Readonly<Record<string, string>> | undefined): [T[], { optimizer: T[]; metadata?: Readonly<Record<string, string>> }] {
  const isOptimizer = (t: T): boolean => t.name.startsWith('optimizer/');
  return [tensors.filter((t) => !isOptimizer(t)), { optimizer: tensors.filter(isOptimizer), ...(metadata ? { metadata } : {}) }];
}

/**
 * TF.js: a `.json` is a model.json or bare weights manifest when it parses as one — any other JSON
 * (configs, tokenizers) is kept opaque and no later detector looks at it; a shard is found last of
 * all, by a model.json beside it that lists it. Written as a directory, `metadata` as
 * `userDefinedMetadata`.
 */
export const tfjsFormat: TensorFormat<object, WithMetadata> = {
  name: 'tfjs',
  extensions: ['.json', '.bin'],
  detectors: [
    {
      by: 'name', precedence: 80, opaqueWhenUnsupported: true,
      detect: async ({ src, lowerName }) => {
        if (!lowerName.endsWith('.json')) return undefined;
        const model = await readModelJson(src);
        return model ? (s) => readTfjsModel(s, { model }) : 'opaque';
      },
    },
    {
      // The probe is the read: a shard's tensors are its model.json's, which must be beside it.
      by: 'content', precedence: 100, opaqueWhenUnsupported: false,
      detect: async ({ src }) => {
        const file = await readTfjsShard(src);
        return file && (async () => file);
      },
    },
  ],
  writer: {
    name: 'tfjs',
    canHold: (dtype) => TFJS_WRITABLE_DTYPES.includes(dtype),
    output: {
      kind: 'directory',
      holds: 'model.json and shards',
      write: (tensors, o) => writeTfjsModel(...byGroup(tensors, o.metadata)),
      stream: (tensors, o) => streamTfjsModel(...byGroup(tensors, o.metadata)),
    },
  },
};
