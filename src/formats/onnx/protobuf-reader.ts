/**
 * @module A bounded protobuf wire-format reader over a ByteSource. It reads through a small window,
 * so a multi-gigabyte model is walked without loading it, and skips fields it is not asked about by
 * length alone. Every varint is ≤ 10 bytes, every length is checked against the enclosing message
 * (and so the file) before anything is read, and groups (wire types 3/4) are refused.
 */
import { formatError } from '../../errors/index.ts';
import type { ByteSource } from '../byte-source.ts';

/** The wire types this reader accepts: varint, fixed64, length-delimited, fixed32. */
export type WireType = 0 | 1 | 2 | 5;

/** One field's key. */
export interface ProtoTag {
  readonly field: number;
  readonly wire: WireType;
  /** Offset of the key in the file. */
  readonly at: number;
}

const WINDOW = 64 * 1024;

/** A forward-only cursor over `src` limited to `[pos, limit)`; `limit` narrows as messages nest. */
export class ProtobufReader {
  pos: number;
  limit: number;
  private win: Uint8Array = new Uint8Array(0);
  private winStart = 0;

  constructor(readonly src: ByteSource, start = 0, limit = src.size) {
    this.pos = start;
    this.limit = limit;
  }

  /** Throws a FormatError naming the file and offset. */
  fail(reason: string, at = this.pos): never {
    throw formatError(this.src.name, at, reason);
  }

  /** True while the current message has bytes left. */
  get more(): boolean {
    return this.pos < this.limit;
  }

  /** The byte at `pos`, refilling the window as needed; never past `limit`. */
  private async byte(what: string): Promise<number> {
    if (this.pos >= this.limit) this.fail(`${what} runs past the end of its message`);
    const i = this.pos - this.winStart;
    if (i < 0 || i >= this.win.byteLength) {
      this.winStart = this.pos;
      this.win = await this.src.read(this.pos, Math.min(WINDOW, this.src.size - this.pos));
    }
    return this.win[this.pos++ - this.winStart]!;
  }

  /** A varint as a bigint (up to 64 bits); an 11th byte or bits past 64 are a FormatError. */
  async varint(what: string): Promise<bigint> {
    const at = this.pos;
    let lo = 0;
    let hi = 0n;
    for (let i = 0; i < 10; i++) {
      const b = await this.byte(what);
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 9 && b > 1) this.fail(`${what} is a varint over 64 bits`, at);
      else hi |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) return hi | BigInt(lo >>> 0);
    }
    return this.fail(`${what} is a varint longer than 10 bytes`, at);
  }

  /** A varint that must fit a non-negative safe integer. */
  async uint(what: string): Promise<number> {
    const at = this.pos;
    const v = await this.varint(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} ${v} is too large`, at);
    return Number(v);
  }

  /** A field key; wire types other than 0, 1, 2, 5 are a FormatError. */
  async tag(): Promise<ProtoTag> {
    const at = this.pos;
    const key = await this.varint('field key');
    const wire = Number(key & 7n);
    const field = key >> 3n;
    if (field === 0n || field > 0x1fffffffn) this.fail(`field number ${field} is out of range`, at);
    if (wire !== 0 && wire !== 1 && wire !== 2 && wire !== 5) this.fail(`wire type ${wire} is not supported (groups are refused)`, at);
    return { field: Number(field), wire, at };
  }

  /** Reads a length prefix and returns the payload's range, checked against the enclosing message. */
  async span(what: string): Promise<{ start: number; length: number }> {
    const at = this.pos;
    const length = await this.uint(`length of ${what}`);
    if (length > this.limit - this.pos) this.fail(`${what} of ${length} bytes runs past the end of its message`, at);
    const start = this.pos;
    return { start, length };
  }

  /** Exactly `n` bytes at `pos` (a copy), already checked to be inside the message. */
  async bytes(n: number, what: string): Promise<Uint8Array> {
    if (n > this.limit - this.pos) this.fail(`${what} of ${n} bytes runs past the end of its message`);
    const i = this.pos - this.winStart;
    let out: Uint8Array;
    if (i >= 0 && i + n <= this.win.byteLength) out = this.win.slice(i, i + n);
    else out = (await this.src.read(this.pos, n)).slice();
    this.pos += n;
    return out;
  }

  /** Skips a field's value by its wire type, without reading a length-delimited payload. */
  async skip(wire: WireType, what: string): Promise<void> {
    if (wire === 0) await this.varint(what);
    else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (n > this.limit - this.pos) this.fail(`${what} runs past the end of its message`);
      this.pos += n;
    } else {
      const { length } = await this.span(what);
      this.pos += length;
    }
  }

  /** Runs `body` with `limit` narrowed to `[start, start + length)`, then moves past that range. */
  async within<T>(start: number, length: number, body: () => Promise<T>): Promise<T> {
    const outer = this.limit;
    this.pos = start;
    this.limit = start + length;
    try {
      const v = await body();
      return v;
    } finally {
      this.limit = outer;
      this.pos = start + length;
    }
  }
}
