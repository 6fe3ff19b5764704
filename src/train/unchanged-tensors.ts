/**
 * @module Reuse of small extension-namespace tensors that a checkpoint repeats unchanged from its
 * parent. A tensor below the repository's `smallThreshold` is packed into a bundle chunk with the
 * other small tensors of its save, so a bundle holding a changed weight is new bytes, and with it
 * every small tensor inside: a replay buffer's old segments or an EWC anchor of a small model would
 * be stored again at every checkpoint although their bytes never change. The commit queue knows the
 * parent of each commit (the checkpoint it committed before), so it keeps a digest of each small
 * namespace tensor it committed, and passes a repeated one as `unchanged` (the parent's chunk refs,
 * no bytes). Model and optimizer tensors are left as they are: they change at every step.
 */
import { sha256Hex } from '../codec/index.ts';
import type { TensorInput } from '../repo/index.ts';
import { TRAINING_STATE_NAMES } from './training-snapshot.ts';

const digestOf = (t: TensorInput, data: Uint8Array): string => `${t.dtype}[${t.shape.join(',')}]:${sha256Hex(data)}`;

/** True for a namespace tensor's snapshot name (everything but `model/…` and `optimizer/…`). */
const inNamespace = (name: string): boolean => !name.startsWith(TRAINING_STATE_NAMES.model) && !name.startsWith(TRAINING_STATE_NAMES.optimizer);

/** Digests of the small namespace tensors of the last checkpoint committed, and their reuse. */
export class UnchangedTensors {
  readonly #threshold: number;
  /** The snapshot the digests are of; undefined when unknown (nothing is reused then). */
  #of: string | undefined;
  #digests = new Map<string, string>();

  /** `threshold`: the repository's smallThreshold (larger tensors deduplicate by chunk already). */
  constructor(threshold: number) {
    this.#threshold = threshold;
  }

  /**
   * The tensors to save with `parent` as parent: small namespace tensors whose dtype, shape and
   * bytes equal the parent's (as this object recorded them) become `{ unchanged: true }`. Returns
   * them with the digests to {@link committed} once the save is committed.
   */
  mark(parent: string | undefined, tensors: Readonly<Record<string, TensorInput>>): { tensors: Record<string, TensorInput>; digests: Map<string, string> } {
    const known = parent !== undefined && parent === this.#of ? this.#digests : undefined;
    const out: Record<string, TensorInput> = {};
    const digests = new Map<string, string>();
    for (const [name, t] of Object.entries(tensors)) {
      out[name] = t;
      if (!inNamespace(name) || t.unchanged || !t.data || t.data.byteLength === 0 || t.data.byteLength >= this.#threshold) continue;
      const d = digestOf(t, t.data);
      digests.set(name, d);
      if (known?.get(name) === d) out[name] = { dtype: t.dtype, shape: t.shape, unchanged: true };
    }
    return { tensors: out, digests };
  }

  /** Records the digests of the checkpoint `id` just committed. */
  committed(id: string, digests: Map<string, string>): void {
    this.#of = id;
    this.#digests = digests;
  }
}
