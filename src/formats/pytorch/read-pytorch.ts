/** @module Reads a PyTorch checkpoint (.pt/.pth/.bin/.ckpt) in either of torch's two formats. */
import type { ByteSource } from '../byte-source.ts';
import type { IngestedFile } from '../ingested-file.ts';
import { readPytorchLegacy, TORCH_LEGACY_PREFIX } from './read-pytorch-legacy.ts';
import { findTorchPickle, readPytorchZip } from './read-pytorch-zip.ts';
import { readZipDirectory } from '../zip-directory.ts';

/** Which torch format `src` is by content, or undefined when it is neither. Never throws on a foreign file. */
export async function detectPytorch(src: ByteSource): Promise<'zip' | 'legacy' | undefined> {
  const head = await src.read(0, Math.min(TORCH_LEGACY_PREFIX.byteLength, src.size));
  if (head.byteLength === TORCH_LEGACY_PREFIX.byteLength && TORCH_LEGACY_PREFIX.every((b, i) => head[i] === b)) return 'legacy';
  if (head[0] !== 0x50 || head[1] !== 0x4b) return undefined;
  try {
    return findTorchPickle(await readZipDirectory(src)) ? 'zip' : undefined;
  } catch {
    return undefined; // a broken zip that does not claim to be torch stays whatever it was
  }
}

/**
 * Reads a PyTorch checkpoint, zip (torch ≥ 1.6) or legacy. Tensors are named by their dotted path
 * in the saved object; the rest of the object is JSON in `metadata['pytorch:object']`.
 *
 * @example const file = await readPytorch(await openFileSource('model.pt'));
 */
export async function readPytorch(src: ByteSource): Promise<IngestedFile> {
  return (await detectPytorch(src)) === 'legacy' ? readPytorchLegacy(src) : readPytorchZip(src);
}
