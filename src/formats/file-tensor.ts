/**
 * @module An IngestedTensor whose bytes stay in the file until `load()`: readers describe tensors
 * without holding them, so ingesting a 10 GB checkpoint costs its headers, not its weights.
 */
import { constants } from 'node:buffer';
import { EngramError, formatError } from '../errors/index.ts';
import { decodeSegmentBytes, type DType, type SegmentEncoding, type Shape } from '../tensor/index.ts';
import type { ByteSource } from './byte-source.ts';
import type { IngestedTensor } from './ingested-file.ts';

/** Where a tensor's stored bytes are and how they differ from canonical ones. */
export interface FileTensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
  readonly byteLength: number;
  /** Offset of the stored bytes in `src`. */
  readonly offset: number;
  readonly encoding?: SegmentEncoding | undefined;
}

/** Refuses, as `Unsupported`, a tensor too large for one Uint8Array in this Node build. */
export function checkLoadable(name: string, byteLength: number): void {
  if (byteLength > constants.MAX_LENGTH) {
    throw new EngramError('Unsupported', `tensor ${JSON.stringify(name)} of ${byteLength} bytes is larger than one buffer can hold (${constants.MAX_LENGTH})`, {
      tensor: name, bytes: byteLength,
    });
  }
}

/** A lazily loaded tensor over a range of `src`. */
export function fileTensor(src: ByteSource, spec: FileTensorSpec): IngestedTensor {
  const { name, dtype, shape, byteLength, offset, encoding } = spec;
  return {
    name, dtype, shape, byteLength,
    async load() {
      checkLoadable(name, byteLength);
      const stored = await src.read(offset, byteLength);
      const canonical = decodeSegmentBytes(stored, dtype, shape, encoding);
      if (canonical.byteLength !== byteLength) {
        throw formatError(src.name, offset, `tensor ${JSON.stringify(name)} read ${canonical.byteLength} bytes, expected ${byteLength}`);
      }
      return canonical;
    },
  };
}
