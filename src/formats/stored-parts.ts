/**
 * @module What of an ingested file a repository stores: the tensors its layout refers to, and the
 * names (with reasons) of those it holds only inside its literal bytes. A compressed container is
 * thus stored once — its file bytes — instead of once as the file and again as decoded tensors.
 */
import type { IngestedFile, IngestedTensor, WithheldTensor } from './ingested-file.ts';

/** The parts of a file to store: see {@link storedParts}. */
export interface StoredParts {
  /** Tensors to store: every tensor of the file except the literal-only ones. */
  readonly tensors: readonly IngestedTensor[];
  /** Tensors not stored on their own, and why: `file.withheld` plus the literal-only tensors. */
  readonly withheld: readonly WithheldTensor[];
}

/**
 * Splits `file`'s tensors into those to store and those withheld: a tensor marked `literalOnly`
 * whose name no tensor segment uses is withheld (its bytes are already in the literal bytes, encoded).
 *
 * @example
 * const { tensors, withheld } = storedParts(await readTensorFile(src));
 */
export function storedParts(file: IngestedFile): StoredParts {
  const inLayout = new Set(file.segments.flatMap((s) => (s.kind === 'tensor' ? [s.tensor] : [])));
  const tensors: IngestedTensor[] = [];
  const withheld: WithheldTensor[] = [...(file.withheld ?? [])];
  for (const t of file.tensors) {
    if (t.literalOnly !== undefined && !inLayout.has(t.name)) withheld.push({ name: t.name, reason: t.literalOnly });
    else tensors.push(t);
  }
  return { tensors, withheld };
}
