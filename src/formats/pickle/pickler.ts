/**
 * @module A protocol-2 pickle writer that emits the opcodes CPython's pickler emits for the same
 * values (BINUNICODE, BININT1/2, BININT, LONG1, BINFLOAT, TUPLE1-3, MARK…APPENDS/SETITEMS in
 * batches of 1000, BINPUT after every memoisable value), so a state dict written here is the
 * byte sequence `torch.save` writes. It only writes opcodes; what a value means (a tensor, an
 * OrderedDict) is decided by the caller, which drives it like Python's `save_reduce`.
 */
import { EngramError } from '../../errors/index.ts';

// Opcodes (pickletools names).
const PROTO = 0x80;
const STOP = 0x2e;
const MARK = 0x28;
const NONE = 0x4e;
const NEWTRUE = 0x88;
const NEWFALSE = 0x89;
const BININT = 0x4a;
const BININT1 = 0x4b;
const BININT2 = 0x4d;
const LONG1 = 0x8a;
const LONG4 = 0x8b;
const BINFLOAT = 0x47;
const BINUNICODE = 0x58;
const EMPTY_TUPLE = 0x29;
const TUPLE = 0x74;
const TUPLE1 = 0x85;
const TUPLE2 = 0x86;
const TUPLE3 = 0x87;
const EMPTY_LIST = 0x5d;
const APPEND = 0x61;
const APPENDS = 0x65;
const EMPTY_DICT = 0x7d;
const SETITEM = 0x73;
const SETITEMS = 0x75;
const GLOBAL = 0x63;
const REDUCE = 0x52;
const BUILD = 0x62;
const BINPERSID = 0x51;
const BINPUT = 0x71;
const LONG_BINPUT = 0x72;
const BINGET = 0x68;
const LONG_BINGET = 0x6a;

/** CPython's `_BATCHSIZE`: APPENDS and SETITEMS carry at most this many items each. */
export const PICKLE_BATCH = 1000;

/**
 * Appends pickle opcodes to a growing buffer and keeps the memo. Memo identity is the caller's:
 * `memoKey` values (a string for interned constants, an object for shared values) name what
 * CPython would find by `id()`, so a second reference becomes BINGET.
 *
 * @example
 * const p = new Pickler(); p.proto(); p.str('x'); p.stop(); p.bytes() // a pickle of 'x'
 */
export class Pickler {
  #buf = new Uint8Array(4096);
  #len = 0;
  readonly #memo = new Map<unknown, number>();

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.byteLength) return;
    let size = this.#buf.byteLength * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  #op(...bytes: number[]): void {
    this.#ensure(bytes.length);
    for (const b of bytes) this.#buf[this.#len++] = b;
  }

  #raw(bytes: Uint8Array): void {
    this.#ensure(bytes.byteLength);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.byteLength;
  }

  #u32(op: number, n: number): void {
    this.#op(op, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }

  /** The pickle written so far (a copy). */
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }

  /** `PROTO 2`: every pickle starts with it. */
  proto(): void {
    this.#op(PROTO, 2);
  }

  /** `STOP`: the value on the stack is the result. */
  stop(): void {
    this.#op(STOP);
  }

  /** MARK, before the items of a TUPLE, APPENDS or SETITEMS. */
  mark(): void {
    this.#op(MARK);
  }

  /** Stores the value on top of the stack in the memo under `key` (BINPUT n, LONG_BINPUT past 255). */
  memoize(key: unknown = {}): void {
    const n = this.#memo.size;
    this.#memo.set(key, n);
    if (n < 256) this.#op(BINPUT, n);
    else this.#u32(LONG_BINPUT, n);
  }

  /** Pushes the memoised value for `key` and returns true, or returns false when there is none. */
  recall(key: unknown): boolean {
    const n = this.#memo.get(key);
    if (n === undefined) return false;
    if (n < 256) this.#op(BINGET, n);
    else this.#u32(LONG_BINGET, n);
    return true;
  }

  none(): void {
    this.#op(NONE);
  }

  bool(v: boolean): void {
    this.#op(v ? NEWTRUE : NEWFALSE);
  }

  /** An int: BININT1, BININT2 or BININT when it fits, else LONG1/LONG4 (two's complement, little-endian). */
  int(v: number | bigint): void {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) {
      throw new EngramError('InvalidArgument', `${v} is not an integer a pickle can hold exactly; pass a bigint`, { value: String(v) });
    }
    const b = BigInt(v);
    if (b >= 0n && b < 256n) return this.#op(BININT1, Number(b));
    if (b >= 0n && b < 65536n) return this.#op(BININT2, Number(b) & 0xff, Number(b) >> 8);
    if (b >= -(2n ** 31n) && b < 2n ** 31n) return this.#u32(BININT, Number(BigInt.asUintN(32, b)));
    // pickle.encode_long: the fewest bytes whose top bit is the sign.
    const out: number[] = [];
    let x = b;
    for (;;) {
      out.push(Number(BigInt.asUintN(8, x)));
      x >>= 8n;
      const top = out[out.length - 1]! & 0x80;
      if ((x === 0n && !top) || (x === -1n && top)) break;
    }
    if (out.length < 256) this.#op(LONG1, out.length, ...out);
    else {
      this.#u32(LONG4, out.length);
      this.#raw(Uint8Array.from(out));
    }
  }

  /** A float as BINFLOAT (8 bytes, big-endian). */
  float(v: number): void {
    const b = new Uint8Array(9);
    b[0] = BINFLOAT;
    new DataView(b.buffer).setFloat64(1, v, false);
    this.#raw(b);
  }

  /**
   * A str as BINUNICODE, memoised. With `key`, a second call with the same key is a BINGET (an
   * interned string CPython finds by identity); without, the string is written again each time.
   */
  str(v: string, key?: string): void {
    if (key !== undefined && this.recall(`str:${key}`)) return;
    const utf8 = new TextEncoder().encode(v);
    this.#u32(BINUNICODE, utf8.byteLength);
    this.#raw(utf8);
    this.memoize(key === undefined ? {} : `str:${key}`);
  }

  /** `GLOBAL 'module\nname\n'`, memoised by its qualified name (classes and functions are singletons). */
  global(module: string, name: string): void {
    const key = `global:${module}.${name}`;
    if (this.recall(key)) return;
    this.#op(GLOBAL);
    this.#raw(new TextEncoder().encode(`${module}\n${name}\n`));
    this.memoize(key);
  }

  /** Ends a tuple of `n` items pushed after `mark()` (n > 3) or directly (n ≤ 3), and memoises it. */
  tuple(n: number): void {
    if (n === 0) return this.#op(EMPTY_TUPLE); // the empty tuple is a singleton CPython never memoises
    if (n === 1) this.#op(TUPLE1);
    else if (n === 2) this.#op(TUPLE2);
    else if (n === 3) this.#op(TUPLE3);
    else this.#op(TUPLE);
    this.memoize();
  }

  /** EMPTY_LIST, memoised. */
  emptyList(key?: unknown): void {
    this.#op(EMPTY_LIST);
    this.memoize(key);
  }

  /** EMPTY_DICT, memoised. */
  emptyDict(key?: unknown): void {
    this.#op(EMPTY_DICT);
    this.memoize(key);
  }

  /** APPENDS (the items since the last MARK) or, for an unMARKed batch, APPEND. */
  appends(marked: boolean): void {
    this.#op(marked ? APPENDS : APPEND);
  }

  /** SETITEMS (the pairs since the last MARK) or, for an unMARKed batch, SETITEM. */
  setitems(marked: boolean): void {
    this.#op(marked ? SETITEMS : SETITEM);
  }

  /** REDUCE: calls the callable below the argument tuple. */
  reduce(): void {
    this.#op(REDUCE);
  }

  /** BUILD: sets the state on top of the stack on the object below it. */
  build(): void {
    this.#op(BUILD);
  }

  /** BINPERSID: the tuple on top of the stack is a persistent id. */
  persid(): void {
    this.#op(BINPERSID);
  }
}

/** One batch of list or dict items: whether a MARK opens it, and how many items it holds. */
export interface PickleBatch {
  readonly mark: boolean;
  readonly count: number;
}

/**
 * How CPython's C pickler splits `n` items of a list or dict into batches of
 * {@link PICKLE_BATCH}, which differs by container: an exact `list` or `dict`
 * (`batch_list_exact`, `batch_dict_exact`) writes a lone item without MARK only when it holds one
 * item, and a dict of a multiple of 1000 items ends with an empty MARK…SETITEMS; items from an
 * iterator (an OrderedDict's `__reduce__`, `batch_dict`) write any batch of one without MARK. A
 * MARKed batch closes with APPENDS/SETITEMS, an unMARKed one with APPEND/SETITEM.
 */
export function pickleBatches(n: number, kind: 'list' | 'dict' | 'iterator'): PickleBatch[] {
  const out: PickleBatch[] = [];
  if (n === 0) return out;
  if (kind !== 'iterator' && n === 1) return [{ mark: false, count: 1 }];
  let i = 0;
  for (;;) {
    const count = Math.min(PICKLE_BATCH, n - i);
    i += count;
    if (kind === 'iterator' && count === 0) return out;
    if (kind === 'iterator' && count === 1) return [...out, { mark: false, count: 1 }];
    out.push({ mark: true, count });
    if (count < PICKLE_BATCH) return out;
    if (kind === 'list' && i >= n) return out;
  }
}
