/**
 * @module LayoutCheck: the save-time proof that a file's layout rebuilds the file. Each piece a
 * restore would write — a literal range, or (an encoding of) a range of a tensor's bytes exactly as
 * the save stores them — is compared with the original file's bytes at its position, while the
 * original is still there and before anything is committed. A restore then needs no whole-file
 * hash: every chunk it reads is verified against its key (docs/ARCHITECTURE.md, "Files").
 */
import { EngramError } from '../errors/index.ts';
import { encodeSegmentBytes, type DType, type FileSegment, type Shape } from '../tensor/index.ts';
import type { FileInput } from './save-input.ts';

/** Bytes of the original compared per read: one scratch buffer of this size per save. */
const WINDOW = 4 << 20;

interface Placed {
  readonly file: FileInput;
  readonly index: number;
  readonly seg: FileSegment;
  /** The segment's offset in the file. */
  readonly at: number;
}

/**
 * Checks the files of one save that came with their `original` bytes. `nameOf` maps a file's
 * tensor segment to the snapshot tensor it names (a TF.js shard names its owner's tensors). A file
 * is verified once each of its segments has been compared; a mismatch is `IntegrityMismatch`.
 */
export class LayoutCheck {
  readonly #byTensor = new Map<string, Placed[]>();
  readonly #pending = new Map<string, number>();
  #scratch: Uint8Array | undefined;

  constructor(files: readonly FileInput[], nameOf: (file: FileInput, tensor: string) => string) {
    for (const f of files) {
      if (f.original === undefined) continue;
      let at = 0;
      for (const [index, seg] of f.segments.entries()) {
        if (seg.kind === 'tensor') {
          const name = nameOf(f, seg.tensor);
          const list = this.#byTensor.get(name) ?? [];
          list.push({ file: f, index, seg, at });
          this.#byTensor.set(name, list);
        }
        at += seg.length;
      }
      if (at !== f.size) throw mismatch(f, `its segments cover ${at} bytes, the file has ${f.size}`);
      this.#pending.set(f.path, f.segments.filter((s) => s.kind === 'tensor').length);
    }
  }

  /** Compares `file`'s literal segments with the original. */
  async literals(file: FileInput): Promise<void> {
    if (file.original === undefined) return;
    let at = 0;
    for (const [index, seg] of file.segments.entries()) {
      if (seg.kind === 'literal') {
        if (seg.offset + seg.length > file.literal.byteLength) throw mismatch(file, `segment ${index} runs past the ${file.literal.byteLength} literal bytes`);
        await this.#compare(file, index, at, file.literal.subarray(seg.offset, seg.offset + seg.length));
      }
      at += seg.length;
    }
  }

  /** Compares every segment naming snapshot tensor `name` with the original, given the bytes stored for it. */
  async tensor(name: string, dtype: DType, shape: Shape, bytes: Uint8Array): Promise<void> {
    const placed = this.#byTensor.get(name);
    if (!placed) return;
    this.#byTensor.delete(name);
    for (const p of placed) {
      if (p.seg.kind !== 'tensor') continue;
      const encoded = encodeSegmentBytes(bytes, dtype, shape, p.seg.encoding);
      if (p.seg.offset + p.seg.length > encoded.byteLength) throw mismatch(p.file, `segment ${p.index} runs past the ${encoded.byteLength} bytes of tensor ${name}`);
      await this.#compare(p.file, p.index, p.at, encoded.subarray(p.seg.offset, p.seg.offset + p.seg.length), name);
      this.#pending.set(p.file.path, this.#pending.get(p.file.path)! - 1);
    }
  }

  /** Whether every segment of the file at `path` has been compared (and matched). */
  verified(path: string): boolean {
    return this.#pending.get(path) === 0;
  }

  async #compare(file: FileInput, index: number, at: number, rebuilt: Uint8Array, tensor?: string): Promise<void> {
    const scratch = (this.#scratch ??= new Uint8Array(WINDOW));
    for (let off = 0; off < rebuilt.byteLength; off += WINDOW) {
      const n = Math.min(WINDOW, rebuilt.byteLength - off);
      const original = scratch.subarray(0, n);
      const got = await file.original!(at + off, original);
      const want = rebuilt.subarray(off, off + n);
      if (got !== n || !Buffer.from(want.buffer, want.byteOffset, n).equals(original)) {
        throw mismatch(file, `${got !== n ? `the file ends before byte ${at + off + n}` : `its bytes ${at + off}…${at + off + n} differ`} from segment ${index}${tensor ? ` (tensor ${tensor})` : ' (literal)'}`);
      }
    }
  }
}

function mismatch(file: FileInput, why: string): EngramError {
  return new EngramError('IntegrityMismatch', `file ${file.path}: its ${file.format} layout does not rebuild the file — ${why}; the file changed while it was saved, or its reader is wrong; nothing was committed`, {
    path: file.path, format: file.format, reason: 'layout',
  });
}
