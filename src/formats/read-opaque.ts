/** @module Any file engram does not parse: kept whole as one literal segment. */
import type { ByteSource } from './byte-source.ts';
import type { IngestedFile } from './ingested-file.ts';

/** Reads `src` as an opaque file: no tensors, every byte literal. */
export async function readOpaque(src: ByteSource): Promise<IngestedFile> {
  const literal = src.size === 0 ? new Uint8Array(0) : (await src.read(0, src.size)).slice();
  return {
    format: 'opaque', size: src.size, tensors: [], literal,
    segments: src.size === 0 ? [] : [{ kind: 'literal', offset: 0, length: src.size }],
  };
}
