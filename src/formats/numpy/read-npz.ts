/**
 * @module Reads a NumPy .npz: a zip of .npy members. Stored members' arrays are referenced in
 * place; deflated members stay literal (re-deflating would not reproduce the same bytes) while
 * their tensors are still exposed, inflated on `load()`; members that are not numeric arrays stay
 * literal without hiding the others.
 */
import { EngramError, formatError, isEngramError } from '../../errors/index.ts';
import { decodeSegmentBytes } from '../../tensor/index.ts';
import type { ByteSource } from '../byte-source.ts';
import { checkLoadable, fileTensor } from '../file-tensor.ts';
import { layoutFile, type TensorRange } from '../file-layout.ts';
import { inflateMember, inflatePrefix, MAX_INFLATED_BYTES } from '../inflate-member.ts';
import type { IngestedFile, IngestedTensor, WithheldTensor } from '../ingested-file.ts';
import { readNpyHeader, type NpyByteReader } from './npy-header.ts';
import { readZipDirectory, type ZipEntry } from '../zip-directory.ts';

/** An .npy reader over the inflated bytes of a deflated member, inflating only what is asked. */
function prefixReader(src: ByteSource, entry: ZipEntry, label: string): NpyByteReader {
  let inflated: Uint8Array = new Uint8Array(0);
  return async (offset, length) => {
    if (inflated.byteLength < offset + length) inflated = await inflatePrefix(src, entry, offset + length);
    if (inflated.byteLength < offset + length) {
      throw formatError(label, offset, `inflates to fewer bytes than the ${entry.uncompressedSize} the directory declares`);
    }
    return inflated.subarray(offset, offset + length);
  };
}

/** True for a FormatError that means "valid, but not something engram holds as a tensor". */
function isUnsupported(e: unknown): e is EngramError {
  return isEngramError(e, 'FormatError') && typeof e.data.reason === 'string' && e.data.reason.startsWith('unsupported');
}

/** Why a deflated member's tensor is not stored again: its compressed bytes stay literal. */
const DEFLATED_REASON = 'it is a deflated .npz member: the compressed bytes are kept as they are (re-deflating cannot be promised to give the same bytes), so the values are not stored a second time';

/**
 * Reads an .npz. Tensors are named after their members without `.npy`. Members engram does not
 * hold as tensors stay literal bytes of the file, each on its own, so one of them never hides the
 * others: members that are not `.npy`, `.npy` members of a dtype engram lacks (a string, float128,
 * structured or object array, e.g. the `format` member of a `scipy.sparse.save_npz` file), and
 * members it cannot decode (encrypted, an unknown compression method, a deflated member over
 * {@link MAX_INFLATED_BYTES}), which are also listed in `withheld`. A file with no tensor and such
 * a member is a FormatError whose reason starts with 'unsupported' (kept opaque by
 * `readTensorFile`).
 *
 * Deflated members' tensors are exposed (inflated on `load()`) but marked `literalOnly`: the
 * compressed bytes are the file's literal bytes, so a repository does not store the values again.
 *
 * @example const file = await readNpz(bufferSource('a.npz', bytes));
 */
export async function readNpz(src: ByteSource): Promise<IngestedFile> {
  const entries = await readZipDirectory(src);
  const tensors: IngestedTensor[] = [];
  const ranges: TensorRange[] = [];
  const withheld: WithheldTensor[] = [];
  const seen = new Set<string>();
  let firstUnsupported: EngramError | undefined;
  for (const entry of entries) {
    if (!entry.name.endsWith('.npy')) continue;
    const name = entry.name.slice(0, -4);
    if (seen.has(name)) throw formatError(src.name, entry.localHeaderOffset, `duplicate member ${entry.name}`);
    seen.add(name);
    try {
      const found = await readMember(src, entry, name);
      tensors.push(found.tensor);
      if (found.range) ranges.push(found.range);
    } catch (e) {
      if (!isUnsupported(e)) throw e;
      firstUnsupported ??= e;
      // A dtype engram lacks is simply not a tensor; a member it cannot decode may well be one.
      if (e.data.undecodable === true) withheld.push({ name, reason: String(e.data.reason).replace(/^unsupported:?\s*/, '') });
    }
  }
  if (tensors.length === 0 && firstUnsupported) throw firstUnsupported;
  const layout = await layoutFile(src, ranges);
  return { format: 'npz', size: src.size, tensors, ...layout, ...(withheld.length > 0 ? { withheld } : {}) };
}

/** An "unsupported" FormatError for a member engram cannot decode at all. */
function undecodable(src: ByteSource, entry: ZipEntry, reason: string): EngramError {
  const e = formatError(src.name, entry.localHeaderOffset, reason);
  return new EngramError('FormatError', e.message, { ...e.data, undecodable: true });
}

/** One `.npy` member as a tensor (and its range of the file when it is stored in place). */
async function readMember(src: ByteSource, entry: ZipEntry, name: string): Promise<{ tensor: IngestedTensor; range?: TensorRange }> {
  if (entry.flags & 1) throw undecodable(src, entry, `unsupported encrypted member ${entry.name}`);
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      throw formatError(src.name, entry.localHeaderOffset, `stored member ${entry.name} has different compressed and uncompressed sizes`);
    }
    const h = await readNpyHeader((o, l) => src.read(entry.dataOffset + o, l), src.name, entry.dataOffset, entry.compressedSize);
    const offset = entry.dataOffset + h.dataOffset;
    return {
      tensor: fileTensor(src, { name, dtype: h.dtype, shape: h.shape, byteLength: h.byteLength, offset, encoding: h.encoding }),
      range: { start: offset, length: h.byteLength, tensor: name, encoding: h.encoding },
    };
  }
  if (entry.method !== 8) throw undecodable(src, entry, `unsupported compression method ${entry.method} for member ${entry.name}`);
  if (entry.uncompressedSize > MAX_INFLATED_BYTES) {
    throw undecodable(src, entry, `unsupported deflated member ${entry.name} of ${entry.uncompressedSize} bytes (over ${MAX_INFLATED_BYTES})`);
  }
  const label = `${src.name} (member ${entry.name}, inflated)`;
  const h = await readNpyHeader(prefixReader(src, entry, label), label, 0, entry.uncompressedSize);
  return {
    tensor: {
      name, dtype: h.dtype, shape: h.shape, byteLength: h.byteLength, literalOnly: DEFLATED_REASON,
      async load() {
        checkLoadable(name, h.byteLength);
        const npy = await inflateMember(src, entry);
        return decodeSegmentBytes(npy.subarray(h.dataOffset, h.dataOffset + h.byteLength), h.dtype, h.shape, h.encoding);
      },
    },
  };
}
