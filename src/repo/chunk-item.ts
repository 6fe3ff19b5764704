/**
 * @module chunkItems: how one item's bytes (a tensor, a shard, a blob, a file's literal stream)
 * become chunk refs — small items go into bundles, large ones are cut at fixed offsets (tensors,
 * so that chunk i lines up with chunk i of the parent for deltas) or content-defined boundaries
 * (blobs and literals). Used through WriteSession, which every save writes through.
 */
import { fastcdcBoundaries } from '../codec/index.ts';
import type { Bundler } from './bundler.ts';
import type { ChunkWriter, DeltaBase } from './chunk-writer.ts';
import type { RepoConfig } from './config.ts';
import type { ChunkRef } from './manifest.ts';

/** Names the delta base of fixed chunk `i` (of `length` bytes), if it has one. */
export type DeltaBaseOf = (i: number, length: number) => DeltaBase | undefined;

/**
 * Stores one item's bytes; `assign` receives its chunk refs (at once, or when its bundle is
 * written). `fixed` cuts at fixed offsets, else at content-defined boundaries.
 */
export type ChunkItem = (bytes: Uint8Array, width: number, fixed: boolean, assign: (refs: ChunkRef[]) => void, baseOf?: DeltaBaseOf) => Promise<void>;

/** A {@link ChunkItem} writing through `writer` and `bundler`; `progress` hears of every byte stored. */
export function chunkItems(config: RepoConfig, writer: ChunkWriter, bundler: Bundler, progress: (bytes: number) => void = () => {}): ChunkItem {
  return async (bytes, width, fixed, assign, baseOf) => {
    if (bytes.byteLength === 0) return assign([]);
    if (bytes.byteLength < config.smallThreshold) {
      await bundler.add(bytes, width, assign);
      progress(bytes.byteLength);
      return;
    }
    const refs: ChunkRef[] = [];
    let start = 0;
    const ends = fixed ? fixedBoundaries(bytes.byteLength, config.chunkSize) : fastcdcBoundaries(bytes, config.cdc);
    for (const [i, end] of ends.entries()) {
      const piece = bytes.subarray(start, end);
      const base = baseOf?.(i, end - start);
      if (base) {
        // A chunk with a counterpart in the parent is often unchanged: hash it here first, so an
        // unchanged chunk costs a hash and nothing else.
        refs.push({ hash: await writer.add(piece, width, base), offset: 0, length: end - start });
      } else {
        const ref = { hash: '', offset: 0, length: end - start };
        refs.push(ref);
        await writer.addFresh(piece, width, (h) => void (ref.hash = h));
      }
      progress(end - start);
      start = end;
    }
    assign(refs);
  };
}

/** Ends of the fixed-size chunks of an item of `length` bytes (the last one may be shorter). */
export function fixedBoundaries(length: number, size: number): number[] {
  const ends: number[] = [];
  for (let end = size; end < length; end += size) ends.push(end);
  ends.push(length);
  return ends;
}
