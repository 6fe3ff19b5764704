/**
 * @module decodeChain: a whole delta chain decoded in one go, keyframe first, each link undone
 * against the one below it, and only the result re-hashed. Decoding link by link (decodeChunk per
 * link) re-hashes every link and, across threads, copies each link's raw bytes out of its worker and
 * back into the next one: on W3's depth-2 chains that was more than half of a restore's CPU time.
 * The result's SHA-256 is checked against the chunk key, so the bytes returned are verified exactly
 * as before; an intermediate link is never returned, cached or handed to anyone, so it needs no hash
 * of its own (a damaged link changes the result, and the caller then re-reads link by link to name
 * it: see repo/chunk-reader.ts).
 */
import { EngramError } from '../errors/index.ts';
import { decodeChunk, readChunkHeader } from './chunk-codec.ts';
import { sha256Hex } from './hash.ts';
import { threadScratch } from './scratch-pool.ts';

/** One link of a chain: the chunk object and the raw-bytes hash it is stored under. */
export interface ChainLink {
  readonly hash: string;
  readonly encoded: Uint8Array;
}

/** Options for {@link decodeChain}. */
export interface DecodeChainOptions {
  /** The raw-bytes SHA-256 the result must have (the hash of `links[0]`). */
  readonly expectedHash: string;
  /** The verified raw bytes of the chunk the last link names as its base, when it is a delta. */
  readonly base?: { readonly hash: string; readonly bytes: Uint8Array };
  /** Where to write the result, as decodeChunk's `output`. */
  readonly output?: (length: number) => Uint8Array | undefined;
}

function broken(reason: string, data: Record<string, unknown>): EngramError {
  return new EngramError('IntegrityMismatch', `delta chain is corrupt: ${reason}`, { reason: 'chain', ...data });
}

/**
 * Decodes `links` — `links[0]` the chunk wanted, `links[i + 1]` the chunk `links[i]`'s header names
 * as its base, the last one a keyframe or a delta against `options.base` — into the raw bytes of
 * `links[0]`, checked against `expectedHash`. A header that names another base than the next link is
 * an `IntegrityMismatch` (`reason: 'chain'`), as is a result that does not hash to `expectedHash`.
 */
export async function decodeChain(links: readonly ChainLink[], options: DecodeChainOptions): Promise<Uint8Array> {
  if (links.length === 0) throw new EngramError('InvalidArgument', 'decodeChain needs at least one link', {});
  let below = options.base;
  // The intermediate link held as the base of the next one (from this thread's pool).
  let held: Uint8Array | undefined;
  try {
    for (let i = links.length - 1; i >= 0; i--) {
      const link = links[i]!;
      const named = readChunkHeader(link.encoded).baseHash;
      if (named !== below?.hash) {
        throw broken(`chunk ${link.hash} names base ${named ?? 'none'}, the chain has ${below?.hash ?? 'none'}`, { chunk: link.hash, base: named, expectedBase: below?.hash });
      }
      let mine: Uint8Array | undefined;
      const output = i === 0 ? options.output : (n: number) => (mine = threadScratch.take(n));
      const base = below?.bytes;
      const raw = await decodeChunk(link.encoded, { getBase: async () => base!, output });
      // decodeChunk never writes into its base, so the link below may go back now.
      if (held) threadScratch.give(held);
      held = mine;
      below = { hash: link.hash, bytes: raw };
    }
    const result = below!.bytes;
    const actual = sha256Hex(result);
    if (actual !== options.expectedHash) {
      throw new EngramError('IntegrityMismatch', `chunk bytes hash to ${actual}, expected ${options.expectedHash} (decoded through ${links.length} links)`, { expected: options.expectedHash, actual, reason: 'chain' });
    }
    held = undefined;
    return result;
  } finally {
    if (held) threadScratch.give(held);
  }
}
