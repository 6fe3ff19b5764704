/** @module Rebuilds a file from its layout: the proof that a reader's layout is exact. */
import { EngramError } from '../errors/index.ts';
import { encodeSegmentBytes } from '../tensor/index.ts';
import type { IngestedFile } from './ingested-file.ts';

/**
 * Concatenates `file`'s segments: literal ranges from `file.literal`, tensor ranges from the
 * canonical bytes `tensorBytes(name)` returns, encoded as the file stores them.
 *
 * @example
 * const bytes = new Map(await Promise.all(file.tensors.map(async (t) => [t.name, await t.load()] as const)));
 * const same = rebuildFile(file, (name) => bytes.get(name)!);
 */
export function rebuildFile(file: IngestedFile, tensorBytes: (name: string) => Uint8Array): Uint8Array {
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const encoded = new Map<string, Uint8Array>();
  const total = file.segments.reduce((n, s) => n + s.length, 0);
  const out = new Uint8Array(total);
  let p = 0;
  for (const s of file.segments) {
    let bytes: Uint8Array;
    if (s.kind === 'literal') {
      bytes = file.literal.subarray(s.offset, s.offset + s.length);
    } else {
      let enc = encoded.get(s.tensor);
      if (!enc) {
        const t = byName.get(s.tensor);
        if (!t) throw new EngramError('InvalidArgument', `segment names unknown tensor ${JSON.stringify(s.tensor)}`, { tensor: s.tensor });
        const canonical = tensorBytes(s.tensor);
        if (canonical.byteLength !== t.byteLength) {
          throw new EngramError('InvalidArgument', `tensor ${JSON.stringify(s.tensor)} has ${canonical.byteLength} bytes, expected ${t.byteLength}`, { tensor: s.tensor });
        }
        enc = encodeSegmentBytes(canonical, t.dtype, t.shape, s.encoding);
        encoded.set(s.tensor, enc);
      }
      bytes = enc.subarray(s.offset, s.offset + s.length);
    }
    if (bytes.byteLength !== s.length) {
      throw new EngramError('InvalidArgument', `segment at byte ${p} wants ${s.length} bytes but its source has ${bytes.byteLength}`, { at: p });
    }
    out.set(bytes, p);
    p += s.length;
  }
  return out;
}
