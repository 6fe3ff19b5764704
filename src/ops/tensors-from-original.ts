/**
 * @module tensorsFromOriginal: a file's tensors loaded through the same reads that the save's
 * layout check makes of the original. A tensor that the layout places whole and unencoded at one
 * offset is read from there (version-checked, `originalBytes`) instead of through its format
 * reader, and marked `readAt`: the check then compares nothing for it — the bytes stored are the
 * file's own at the place the layout puts them — so each byte of the file is read once, not twice.
 */
import { constants } from 'node:buffer';
import { EngramError } from '../errors/index.ts';
import type { FileInput, FileTensorInput } from '../repo/index.ts';
import { isIdentityEncoding } from '../tensor/index.ts';
import type { OriginalBytes } from './original-bytes.ts';

/**
 * `layout.tensors`, each one laid out whole (one unencoded segment from its first byte to its
 * last) loading from `original` at its place in the file; the others as the reader gave them.
 *
 * @example files.push({ ...layout, tensors: tensorsFromOriginal(layout, original), original: (o, b) => original.read(o, b) });
 */
export function tensorsFromOriginal(layout: Pick<FileInput, 'path' | 'segments' | 'tensors'>, original: OriginalBytes): FileTensorInput[] {
  const placed = new Map<string, { at: number; length: number }>();
  let at = 0;
  for (const seg of layout.segments) {
    if (seg.kind === 'tensor' && seg.offset === 0 && isIdentityEncoding(seg.encoding) && !placed.has(seg.tensor)) placed.set(seg.tensor, { at, length: seg.length });
    at += seg.length;
  }
  return layout.tensors.map((t) => {
    const where = placed.get(t.name);
    if (!where || where.length !== t.byteLength || t.literalOnly !== undefined || t.byteLength > constants.MAX_LENGTH) return t;
    return {
      ...t,
      readAt: where.at,
      load: async () => {
        const out = new Uint8Array(t.byteLength);
        const n = await original.read(where.at, out);
        if (n !== t.byteLength) {
          throw new EngramError('IntegrityMismatch', `${layout.path} ends inside tensor ${t.name} (byte ${where.at + n} of ${where.at + t.byteLength}); nothing was committed`, { path: layout.path, tensor: t.name, reason: 'changed' });
        }
        return out;
      },
    };
  });
}
