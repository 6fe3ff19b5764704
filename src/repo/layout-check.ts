/**
 * @module LayoutCheck: the save-time proof that a file's layout rebuilds the file. Each piece a
 * restore would write — a literal range, or (an encoding of) a range of a tensor's bytes exactly as
 * the save stores them — is compared with the original file's bytes at its position, while the
 * original is still there and before anything is committed. A restore then needs no whole-file
 * hash: every chunk it reads is verified against its key (docs/ARCHITECTURE.md, "Files"). The
 * file's SHA-256 is taken from the same verified pieces as they are checked in file order, so the
 * save reads each byte of the original once. A tensor whose bytes were themselves read from the
 * file (`FileTensorInput.readAt`) is compared nowhere the layout puts it where it was read from:
 * there the layout rebuilds the file by construction.
 *
 * The checks run behind the save, one after another in the order asked for: `tensor` queues its
 * check and returns, so the save hands the tensor's chunks to the codec workers while its original
 * is read and compared (and the next tensor loads), and `finish` waits for them. The checks hold
 * at most {@link BACKLOG} bytes of tensors beyond what the save holds anyway; a failure is thrown
 * by the next call.
 */
import { EngramError } from '../errors/index.ts';
import { encodeSegmentBytes, isIdentityEncoding, type DType, type FileSegment, type Shape } from '../tensor/index.ts';
import { fileTensorName, type FileInput } from './save-input.ts';
import { streamHash, type StreamHash } from './stream-hash.ts';

/** Bytes of the original compared per read: one scratch buffer of this size per save. */
const WINDOW = 4 << 20;
/** Tensor bytes queued for checking before `tensor` waits for the checks to catch up. */
const BACKLOG = 256 << 20;
/**
 * Files from this size hash on the hashing thread (stream-hash.ts); smaller ones on the calling
 * thread, where a hand-off costs more than it saves.
 */
const THREADED_HASH_FROM = 16 << 20;

interface Placed {
  readonly state: FileState;
  readonly index: number;
  readonly seg: FileSegment;
  /** The segment's offset in the file. */
  readonly at: number;
}

interface FileState {
  readonly file: FileInput;
  readonly placed: Placed[];
  readonly checked: boolean[];
  /** The first segment not yet hashed; segments are hashed in file order as they pass the check. */
  cursor: number;
  readonly hash: StreamHash;
  /** A tensor segment was checked before an earlier one: the hash needs a pass of its own. */
  outOfOrder: boolean;
}

/** What the check found for one file. */
export interface LayoutVerdict {
  /** The file's SHA-256 (of the original bytes). */
  readonly sha256: string;
  /** Every segment was compared with the original and matched. */
  readonly verified: boolean;
}

/**
 * Checks the files of one save that came with their `original` bytes. `nameOf` maps a file's
 * tensor segment to the snapshot tensor it names (a TF.js shard names its owner's tensors). A
 * mismatch is `IntegrityMismatch`; `finish` gives each file's SHA-256 and whether it was verified.
 */
export class LayoutCheck {
  readonly #byTensor = new Map<string, Placed[]>();
  readonly #files = new Map<FileInput, FileState>();
  #scratch: Uint8Array | undefined;
  /** The queued checks, run one at a time in order; it never rejects (see {@link #failure}). */
  #queue: Promise<void> = Promise.resolve();
  #queued = 0;
  #failure: { error: unknown } | undefined;
  readonly #threadedFrom: number;
  /** Tensors whose bytes are their own file's at an offset (`FileTensorInput.readAt`), by snapshot name. */
  readonly #readAt = new Map<string, { readonly file: FileInput; readonly at: number }>();

  /** `threadedHashFrom`: files from this size take their SHA-256 on the hashing thread (tests lower it). */
  constructor(files: readonly FileInput[], nameOf: (file: FileInput, tensor: string) => string, options: { threadedHashFrom?: number } = {}) {
    this.#threadedFrom = options.threadedHashFrom ?? THREADED_HASH_FROM;
    for (const file of files) {
      if (file.original === undefined) {
        if (file.sha256 === undefined) throw new EngramError('InvalidArgument', `file ${file.path} has neither a sha256 nor its original bytes`, { path: file.path });
        continue;
      }
      const state: FileState = { file, placed: [], checked: file.segments.map(() => false), cursor: 0, hash: streamHash(file.size >= this.#threadedFrom), outOfOrder: false };
      let at = 0;
      for (const [index, seg] of file.segments.entries()) {
        const p = { state, index, seg, at };
        state.placed.push(p);
        if (seg.kind === 'tensor') {
          const name = nameOf(file, seg.tensor);
          const list = this.#byTensor.get(name) ?? [];
          list.push(p);
          this.#byTensor.set(name, list);
        }
        at += seg.length;
      }
      if (at !== file.size) throw mismatch(file, `its segments cover ${at} bytes, the file has ${file.size}`);
      this.#files.set(file, state);
      for (const t of file.tensors) {
        // Only a file's own tensors: one whose tensors are another file's gets that file's bytes.
        const name = fileTensorName(file.path, t.name);
        if (t.readAt !== undefined && nameOf(file, t.name) === name) this.#readAt.set(name, { file, at: t.readAt });
      }
    }
  }

  /** Queues `work` behind the checks already queued, holding `bytes` until it has run. */
  async #enqueue(bytes: number, work: () => Promise<void>): Promise<void> {
    this.#rethrow();
    this.#queued += bytes;
    this.#queue = this.#queue.then(async () => {
      if (this.#failure) return;
      try {
        await work();
      } catch (error) {
        this.#failure = { error };
      }
    }).finally(() => void (this.#queued -= bytes));
    if (this.#queued > BACKLOG) await this.#drain();
  }

  /** Waits for every queued check; throws the first failure. */
  async #drain(): Promise<void> {
    await this.#queue;
    this.#rethrow();
  }

  #rethrow(): void {
    if (this.#failure) throw this.#failure.error;
  }

  /** Queues the comparison of `file`'s literal segments with the original. */
  async literals(file: FileInput): Promise<void> {
    const state = this.#files.get(file);
    if (!state) return;
    await this.#enqueue(0, async () => {
      for (const p of state.placed) {
        if (p.seg.kind !== 'literal') continue;
        if (p.seg.offset + p.seg.length > file.literal.byteLength) throw mismatch(file, `segment ${p.index} runs past the ${file.literal.byteLength} literal bytes`);
        await this.#compare(p, file.literal.subarray(p.seg.offset, p.seg.offset + p.seg.length));
        state.checked[p.index] = true;
      }
      await this.#advance(state);
    });
  }

  /**
   * Queues the comparison of every segment naming snapshot tensor `name` with the original, given
   * the bytes stored for it (which must not change until {@link finish} resolves).
   */
  async tensor(name: string, dtype: DType, shape: Shape, bytes: Uint8Array): Promise<void> {
    const placed = this.#byTensor.get(name);
    if (!placed) return;
    this.#byTensor.delete(name);
    await this.#enqueue(bytes.byteLength, async () => {
      for (const p of placed) {
        if (p.seg.kind !== 'tensor') continue;
        const encoded = encodeSegmentBytes(bytes, dtype, shape, p.seg.encoding);
        if (p.seg.offset + p.seg.length > encoded.byteLength) throw mismatch(p.state.file, `segment ${p.index} runs past the ${encoded.byteLength} bytes of tensor ${name}`);
        const piece = encoded.subarray(p.seg.offset, p.seg.offset + p.seg.length);
        // Bytes read from this very file where this segment puts them need no second read.
        const from = this.#readAt.get(name);
        const placedWhereRead = from !== undefined && from.file === p.state.file && isIdentityEncoding(p.seg.encoding) && from.at + p.seg.offset === p.at;
        if (!placedWhereRead) await this.#compare(p, piece, name);
        const state = p.state;
        state.checked[p.index] = true;
        // The piece equals the original there: hash it now if it is next in file order.
        if (state.cursor === p.index) {
          await state.hash.update(piece);
          state.cursor++;
          await this.#advance(state);
        } else {
          state.outOfOrder = true;
        }
      }
    });
  }

  /**
   * The file's SHA-256 and whether its whole layout was checked. A file given without `original`
   * keeps the SHA-256 it came with; one whose pieces were not all hashed in order is hashed from
   * its original in a pass of its own. A `sha256` the caller gave that differs from the original's
   * is `IntegrityMismatch` (the file changed since the caller hashed it).
   */
  async finish(file: FileInput): Promise<LayoutVerdict> {
    await this.#drain();
    const state = this.#files.get(file);
    if (!state) return { sha256: file.sha256!, verified: false };
    const verified = state.checked.every(Boolean);
    let sha256: string;
    if (verified && !state.outOfOrder && state.cursor === state.placed.length) {
      sha256 = await state.hash.digest();
    } else {
      // The stream's partial digest is not needed; taking it frees the hashing thread's state.
      await state.hash.digest();
      const hash = streamHash(file.size >= this.#threadedFrom);
      const scratch = (this.#scratch ??= new Uint8Array(WINDOW));
      for (let at = 0; at < file.size; at += WINDOW) {
        const n = await file.original!(at, scratch.subarray(0, Math.min(WINDOW, file.size - at)));
        await hash.update(scratch.subarray(0, n));
        if (n < Math.min(WINDOW, file.size - at)) throw mismatch(file, `the file ends before byte ${file.size}`);
      }
      sha256 = await hash.digest();
    }
    if (file.sha256 !== undefined && file.sha256 !== sha256) {
      throw mismatch(file, `its bytes hash to ${sha256}, not the ${file.sha256} it was given with`);
    }
    return { sha256, verified };
  }

  /** Hashes the literal segments that follow the cursor, up to the next tensor segment. */
  async #advance(state: FileState): Promise<void> {
    while (state.cursor < state.placed.length) {
      const p = state.placed[state.cursor]!;
      if (p.seg.kind !== 'literal' || !state.checked[p.index]) return;
      await state.hash.update(state.file.literal.subarray(p.seg.offset, p.seg.offset + p.seg.length));
      state.cursor++;
    }
  }

  async #compare(p: Placed, rebuilt: Uint8Array, tensor?: string): Promise<void> {
    const file = p.state.file;
    const scratch = (this.#scratch ??= new Uint8Array(WINDOW));
    for (let off = 0; off < rebuilt.byteLength; off += WINDOW) {
      const n = Math.min(WINDOW, rebuilt.byteLength - off);
      const original = scratch.subarray(0, n);
      const got = await file.original!(p.at + off, original);
      const want = rebuilt.subarray(off, off + n);
      if (got !== n || !Buffer.from(want.buffer, want.byteOffset, n).equals(original)) {
        const where = got !== n ? `the file ends before byte ${p.at + off + n}` : `its bytes ${p.at + off}…${p.at + off + n} differ`;
        throw mismatch(file, `${where} from segment ${p.index}${tensor ? ` (tensor ${tensor})` : ' (literal)'}`);
      }
    }
  }
}

function mismatch(file: FileInput, why: string): EngramError {
  return new EngramError('IntegrityMismatch', `file ${file.path}: its ${file.format} layout does not rebuild the file — ${why}; the file changed while it was saved, or its reader is wrong; nothing was committed`, {
    path: file.path, format: file.format, reason: 'layout',
  });
}
