/**
 * @module A forward reader over a ByteSource for GGUF headers: reads the file in windows, so a
 * header of many small fields costs few reads, and checks every length against the file before
 * it reads or allocates.
 */
import { formatError } from '../../errors/index.ts';
import type { ByteSource } from '../byte-source.ts';

const WINDOW = 1 << 16;

/** Sequential little-endian reads from `src`, starting at offset 0. */
export class GgufCursor {
  /** Offset of the next byte to read. */
  pos = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;
  private readonly src: ByteSource;

  constructor(src: ByteSource) {
    this.src = src;
  }

  /** Bytes left in the file after `pos`. */
  get remaining(): number {
    return this.src.size - this.pos;
  }

  /** Throws a FormatError naming the file and `offset` (default: the current position). */
  fail(reason: string, offset = this.pos): never {
    throw formatError(this.src.name, offset, reason);
  }

  /** Makes `n` bytes at `pos` available in the window; `what` names them in the error. */
  async need(n: number, what: string): Promise<void> {
    if (n > this.remaining) this.fail(`${what} (${n} bytes) runs past the end of the ${this.src.size}-byte file`);
    const at = this.pos - this.bufStart;
    if (at >= 0 && at + n <= this.buf.byteLength) return;
    const length = Math.min(this.remaining, Math.max(n, WINDOW));
    // Keep the unread tail of the window and read only what follows it, so every byte of the file
    // is requested at most once however values straddle windows.
    const tail = at >= 0 && at < this.buf.byteLength ? this.buf.subarray(at) : undefined;
    const fresh = await this.src.read(this.pos + (tail?.byteLength ?? 0), length - (tail?.byteLength ?? 0));
    if (tail) {
      const joined = new Uint8Array(length);
      joined.set(tail);
      joined.set(fresh, tail.byteLength);
      this.buf = joined;
    } else {
      this.buf = fresh;
    }
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.bufStart = this.pos;
  }

  /** True when `n` bytes at `pos` are already in the window, so reading them needs no await. */
  has(n: number): boolean {
    const at = this.pos - this.bufStart;
    return at >= 0 && at + n <= this.buf.byteLength;
  }

  /**
   * The next string's bytes without awaiting, or undefined when its length or bytes are not in the
   * window yet (the caller then takes the checked, awaited path). A vocabulary of 10^5 strings
   * would otherwise cost two promises each.
   */
  stringBytesSync(): Uint8Array | undefined {
    if (!this.has(8)) return undefined;
    const at = this.pos - this.bufStart;
    const n = this.view.getBigUint64(at, true);
    if (n > BigInt(this.buf.byteLength - at - 8)) return undefined;
    this.pos += 8 + Number(n);
    return this.buf.subarray(at + 8, at + 8 + Number(n));
  }

  private take(n: number): number {
    const at = this.pos - this.bufStart;
    this.pos += n;
    return at;
  }

  async u8(what: string): Promise<number> {
    await this.need(1, what);
    return this.view.getUint8(this.take(1));
  }

  async u32(what: string): Promise<number> {
    await this.need(4, what);
    return this.view.getUint32(this.take(4), true);
  }

  async u64(what: string): Promise<bigint> {
    await this.need(8, what);
    return this.view.getBigUint64(this.take(8), true);
  }

  /** `n` bytes as a view into the window (valid until the next read). */
  async bytes(n: number, what: string): Promise<Uint8Array> {
    await this.need(n, what);
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }

  /** A DataView over the next `n` bytes and its start, for reading many numbers at once. */
  async block(n: number, what: string): Promise<{ view: DataView; at: number }> {
    await this.need(n, what);
    return { view: this.view, at: this.take(n) };
  }
}
