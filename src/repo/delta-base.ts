/**
 * @module chooseDeltaBase: which chunk a new chunk is a delta against, from the parent manifest's
 * `chunks` map alone (it lists every link of every chain, with stored sizes and depths), so choosing
 * reads no object. Restoring a chunk decodes every link of its chain, one after the other, so the
 * depth bounds what a restore costs; see docs/ARCHITECTURE.md, "Delta chains: what restore costs".
 */
import { KEYFRAME_WHEN_SAVING_BELOW, type DeltaKeyframeRule } from './config.ts';
import type { ChunkInfo } from './manifest.ts';

/**
 * The base for the chunk at the position of `parentHash` (the parent's chunk there), and that base's
 * depth. A depth of `maxDepth` or more means "store a keyframe" (ChunkWriter never builds on such a
 * base); the chunk is still hashed before anything else, so an unchanged one costs nothing.
 *
 * Under `'chain-full'` the base is always the parent's chunk. Under `'stops-paying'` a parent chunk
 * at `maxDepth` hands its place to the link below it, and the chain ends once the parent's delta
 * saves less than {@link KEYFRAME_WHEN_SAVING_BELOW} of what the chain's first delta saved (both
 * against the keyframe's stored size). A chain whose links the map lacks (a manifest written before
 * every base was listed) ends at once.
 */
export function chooseDeltaBase(parentHash: string, chunks: Readonly<Record<string, ChunkInfo>>, maxDepth: number, rule: DeltaKeyframeRule): { hash: string; depth: number } {
  const parent = chunks[parentHash];
  const depth = parent?.depth ?? 0;
  if (rule === 'chain-full' || !parent || depth < maxDepth) return { hash: parentHash, depth };
  // The parent's chain, from it down to its keyframe.
  const links: { hash: string; info: ChunkInfo }[] = [{ hash: parentHash, info: parent }];
  for (let info = parent; info.base !== undefined;) {
    const next = chunks[info.base];
    if (!next || links.length > maxDepth + 1) return { hash: parentHash, depth: maxDepth };
    links.push({ hash: info.base, info: next });
    info = next;
  }
  const keyframe = links.at(-1)!.info;
  const first = links.at(-2)?.info;
  if (!first || (keyframe.depth ?? 0) !== 0) return { hash: parentHash, depth: maxDepth };
  if (keyframe.stored - parent.stored < KEYFRAME_WHEN_SAVING_BELOW * (keyframe.stored - first.stored)) return { hash: parentHash, depth: maxDepth };
  const below = links.find((l) => (l.info.depth ?? 0) < maxDepth)!;
  return { hash: below.hash, depth: below.info.depth ?? 0 };
}
