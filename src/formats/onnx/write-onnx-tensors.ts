/**
 * @module Matches named tensors from anywhere (a snapshot, another file) to a template model's
 * initializers and plans writing them into it. Tensors saved from a file carry the file's path
 * (`model.onnx:fc.weight`), so a name matches an initializer either as it is or by the part after
 * its first `:`. Every tensor must land somewhere and no initializer may be fed twice, so nothing
 * is silently dropped or chosen at random.
 */
import { basename } from 'node:path';
import { EngramError } from '../../errors/index.ts';
import type { LazyNamedTensor } from '../../tensor/index.ts';
import type { ByteSource } from '../byte-source.ts';
import { readOnnx } from './read-onnx.ts';
import { planOnnxWrite, type OnnxTensorInput, type OnnxWritePlan, type WriteOnnxOptions } from './write-onnx.ts';

/** A tensor offered for an initializer: loaded only when the writer reaches it (its byte length is not needed up front). */
export type OnnxCandidate = Omit<LazyNamedTensor, 'byteLength'>;

/**
 * Plans writing `candidates` into `template`. `NotFound` when a tensor matches no initializer,
 * `InvalidArgument` when two tensors match the same one (narrow them with a name prefix);
 * otherwise as {@link planOnnxWrite}.
 *
 * @example
 * const plan = await planOnnxFromTensors(template, snapshotTensors, { dataLocation: 'out.onnx.data' });
 */
export async function planOnnxFromTensors(template: ByteSource, candidates: readonly OnnxCandidate[], options: WriteOnnxOptions = {}): Promise<OnnxWritePlan> {
  const { tensors, origin } = await readOnnx(template, options.openExternal ? { openExternal: options.openExternal } : {});
  const initializers = new Set(tensors.filter((t) => origin[t.name] === 'initializer').map((t) => t.name));
  const constants = new Set(tensors.filter((t) => origin[t.name] !== 'initializer').map((t) => t.name));
  const chosen = new Map<string, OnnxTensorInput>();
  const from = new Map<string, string>();
  for (const c of candidates) {
    const colon = c.name.indexOf(':');
    const target = initializers.has(c.name) ? c.name : colon >= 0 && initializers.has(c.name.slice(colon + 1)) ? c.name.slice(colon + 1) : undefined;
    const constant = constants.has(c.name) ? c.name : colon >= 0 && constants.has(c.name.slice(colon + 1)) ? c.name.slice(colon + 1) : undefined;
    if (target === undefined && constant !== undefined) {
      throw new EngramError('Unsupported', `tensor ${JSON.stringify(c.name)} is a Constant node's value or a subgraph tensor of ${basename(template.name)}; engram writes main-graph initializers only: choose the tensors to write with a name prefix`, {
        tensor: c.name, template: template.name,
      });
    }
    if (target === undefined) {
      throw new EngramError('NotFound', `tensor ${JSON.stringify(c.name)} matches no initializer of ${basename(template.name)}; choose the tensors to write with a name prefix`, {
        tensor: c.name, template: template.name,
      });
    }
    const prev = from.get(target);
    if (prev !== undefined) {
      throw new EngramError('InvalidArgument', `tensors ${JSON.stringify(prev)} and ${JSON.stringify(c.name)} both match initializer ${JSON.stringify(target)}; choose one set with a name prefix`, {
        initializer: target, tensors: [prev, c.name],
      });
    }
    from.set(target, c.name);
    chosen.set(target, { dtype: c.dtype, shape: c.shape, data: () => c.load() });
  }
  return planOnnxWrite(template, chosen, options);
}
