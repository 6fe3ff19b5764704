/**
 * @module A restricted unpickler, modelled on PyTorch's `weights_only` loader: it interprets the
 * protocol 2-5 opcodes a state dict needs and nothing else, resolves globals only from the
 * caller's allowlist, and never executes anything. It is a loop over the input, never recursive;
 * every length is checked against the bytes left and the stack, marks, memo and object count are
 * bounded, so a hostile pickle ends in `UnsafePickle` or `FormatError`, never a crash or a hang.
 */
import { EngramError, formatError } from '../../errors/index.ts';
import { PyDict, PyGlobal, PyTuple, type PyValue } from './pickle-value.ts';

/** Bounds on what one pickle may build; the defaults are far above what any state dict needs. */
export interface UnpickleLimits {
  readonly maxStack: number;
  /** Open MARKs at once: how deeply tuples, lists and dicts may be nested while being built. */
  readonly maxMarks: number;
  readonly maxMemo: number;
  /** Values created in total (every push counts). */
  readonly maxObjects: number;
}

export const DEFAULT_UNPICKLE_LIMITS: UnpickleLimits = { maxStack: 100_000, maxMarks: 1000, maxMemo: 1_000_000, maxObjects: 10_000_000 };

/** What the caller allows: which globals exist, and what calling or building them means. */
export interface UnpickleHooks {
  /** `module.name` of every global the pickle may name; any other is `UnsafePickle`. */
  readonly allowedGlobals: ReadonlySet<string>;
  /** REDUCE: `callable(*args)`, where `callable` came from the stack. Throw to refuse. */
  reduce(callable: PyValue, args: PyTuple, at: number): PyValue;
  /** BUILD: `obj.__setstate__(state)`; returns the object to leave on the stack. Throw to refuse. */
  build(obj: PyValue, state: PyValue, at: number): PyValue;
  /** BINPERSID: the object a persistent id stands for. Absent: persistent ids are refused. */
  persistentLoad?(pid: PyValue, at: number): PyValue;
}

/** Where a pickle sits, for error messages. */
export interface PickleSource {
  /** File name used in errors. */
  readonly file: string;
  /** Offset of the pickle's first byte in that file, so errors name file offsets. */
  readonly offset: number;
  /**
   * The bytes given are a window and the file goes on: running out throws `PickleNeedsMore`
   * (retry with a larger window) instead of a FormatError.
   */
  readonly more?: boolean;
}

/** Thrown instead of a truncation error when `PickleSource.more` says the input is only a window. */
export class PickleNeedsMore extends Error {
  constructor() {
    super('pickle continues past the bytes given');
  }
}

/** Names of the opcodes engram refuses, so that the error says which one it met. */
const OTHER_OPCODES: Readonly<Record<number, string>> = {
  0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4c: 'LONG', 0x50: 'PERSID', 0x53: 'STRING',
  0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x64: 'DICT', 0x67: 'GET', 0x69: 'INST', 0x6c: 'LIST',
  0x6f: 'OBJ', 0x70: 'PUT', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS',
  0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** The error for something a safe loader must refuse: a global, an opcode or a call. */
export function unsafePickle(file: string, offset: number, reason: string, data: Record<string, unknown> = {}): EngramError {
  return new EngramError('UnsafePickle', `${file}: ${reason} (at byte ${offset}); engram never executes pickles`, { file, offset, reason, ...data });
}

const LATIN1 = new TextDecoder('latin1');
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Unpickles `bytes` (one pickle, up to its STOP; bytes after it are ignored and `end` says where
 * it stopped) under `hooks`.
 *
 * @example
 * const { value } = unpickle(bytes, { file: 'x.pt', offset: 0 }, hooks);
 */
export function unpickle(
  bytes: Uint8Array, where: PickleSource, hooks: UnpickleHooks, limits: UnpickleLimits = DEFAULT_UNPICKLE_LIMITS,
): { value: PyValue; end: number } {
  const { file } = where;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  const memo = new Map<number, PyValue>();
  let objects = 0;
  let p = 0;
  let opAt = 0;
  let opName = '';

  const bad = (reason: string): EngramError => formatError(file, where.offset + opAt, `pickle opcode ${opName}: ${reason}`);
  const need = (n: number | bigint): number => {
    if (BigInt(n) > BigInt(bytes.byteLength - p)) {
      if (where.more) throw new PickleNeedsMore();
      throw bad(`needs ${n} bytes but the pickle has ${bytes.byteLength - p} left`);
    }
    const at = p;
    p += Number(n);
    return at;
  };
  const push = (v: PyValue): void => {
    if (stack.length >= limits.maxStack) throw bad(`stack exceeds ${limits.maxStack} entries`);
    if (++objects > limits.maxObjects) throw bad(`pickle creates more than ${limits.maxObjects} objects`);
    stack.push(v);
  };
  const pop = (): PyValue => {
    if (stack.length === 0) throw bad('stack underflow');
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (stack.length === 0) throw bad('stack underflow');
    return stack[stack.length - 1]!;
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) throw bad('no MARK to pop to');
    stack = prev;
    return items;
  };
  const put = (index: number): void => {
    if (!memo.has(index) && memo.size >= limits.maxMemo) throw bad(`memo exceeds ${limits.maxMemo} entries`);
    memo.set(index, top());
  };
  const get = (index: number): void => {
    if (!memo.has(index)) throw bad(`memo has no entry ${index}`);
    push(memo.get(index)!);
  };
  const text = (at: number, n: number): string => {
    try {
      return UTF8.decode(bytes.subarray(at, at + n));
    } catch (e) {
      throw formatError(file, where.offset + at, `pickle opcode ${opName}: string is not valid UTF-8`, e);
    }
  };
  const line = (): string => {
    const nl = bytes.indexOf(0x0a, p);
    // A module or attribute name is short; refusing long lines bounds the scan as well.
    if (nl < 0 && where.more && bytes.byteLength - p <= 256) throw new PickleNeedsMore();
    if (nl < 0 || nl - p > 256) throw bad('GLOBAL name is not a newline-terminated line of at most 256 bytes');
    const s = LATIN1.decode(bytes.subarray(p, nl));
    p = nl + 1;
    return s;
  };
  const global = (module: string, name: string): PyGlobal => {
    const q = `${module}.${name}`;
    if (!hooks.allowedGlobals.has(q)) throw unsafePickle(file, where.offset + opAt, `pickle refers to global ${q}, which is not on the allowlist`, { global: q });
    return new PyGlobal(module, name);
  };
  const setItems = (target: PyValue, items: PyValue[]): void => {
    if (!(target instanceof PyDict)) throw bad('target is not a dict');
    if (items.length % 2 !== 0) throw bad('odd number of items');
    for (let i = 0; i < items.length; i += 2) target.set(items[i]!, items[i + 1]!);
  };
  const appendItems = (target: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(target)) throw bad('target is not a list');
    for (const x of items) target.push(x);
  };
  const long = (n: number): bigint | number => {
    const at = need(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]!);
    if (n > 0 && bytes[at + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : v;
  };

  for (;;) {
    opAt = p;
    if (p >= bytes.byteLength) {
      if (where.more) throw new PickleNeedsMore();
      opName = 'STOP';
      throw bad('pickle ends without a STOP opcode');
    }
    const op = bytes[p++]!;
    switch (op) {
      case 0x80: opName = 'PROTO'; { const v = bytes[need(1)]!; if (v > 5) throw bad(`unknown protocol ${v}`); } break;
      case 0x95: opName = 'FRAME'; need(8); break; // Frames only group opcodes; their length is advisory.
      case 0x2e: { opName = 'STOP';
        const value = pop();
        return { value, end: p };
      }
      case 0x28: opName = 'MARK';
        if (marks.length >= limits.maxMarks) throw bad(`more than ${limits.maxMarks} nested MARKs`);
        marks.push(stack);
        stack = [];
        break;
      case 0x7d: opName = 'EMPTY_DICT'; push(new PyDict()); break;
      case 0x5d: opName = 'EMPTY_LIST'; push([]); break;
      case 0x29: opName = 'EMPTY_TUPLE'; push(new PyTuple([])); break;
      case 0x4e: opName = 'NONE'; push(null); break;
      case 0x88: opName = 'NEWTRUE'; push(true); break;
      case 0x89: opName = 'NEWFALSE'; push(false); break;
      case 0x4b: opName = 'BININT1'; push(bytes[need(1)]!); break;
      case 0x4d: opName = 'BININT2'; push(view.getUint16(need(2), true)); break;
      case 0x4a: opName = 'BININT'; push(view.getInt32(need(4), true)); break;
      case 0x8a: opName = 'LONG1'; push(long(bytes[need(1)]!)); break;
      case 0x8b: { opName = 'LONG4';
        const n = view.getInt32(need(4), true);
        // State dicts hold no integer this long; the cap keeps the bigint build linear.
        if (n < 0 || n > 1024) throw bad(`integer of ${n} bytes is outside 0..1024`);
        push(long(n));
        break;
      }
      case 0x47: opName = 'BINFLOAT'; push(view.getFloat64(need(8), false)); break;
      case 0x58: { opName = 'BINUNICODE'; const n = view.getUint32(need(4), true); push(text(need(n), n)); break; }
      case 0x8c: { opName = 'SHORT_BINUNICODE'; const n = bytes[need(1)]!; push(text(need(n), n)); break; }
      case 0x8d: { opName = 'BINUNICODE8'; const n = view.getBigUint64(need(8), true); const at = need(n); push(text(at, Number(n))); break; }
      case 0x42: { opName = 'BINBYTES'; const n = view.getUint32(need(4), true); const at = need(n); push(bytes.slice(at, at + n)); break; }
      case 0x43: { opName = 'SHORT_BINBYTES'; const n = bytes[need(1)]!; const at = need(n); push(bytes.slice(at, at + n)); break; }
      case 0x8e: { opName = 'BINBYTES8'; const n = view.getBigUint64(need(8), true); const at = need(n); push(bytes.slice(at, at + Number(n))); break; }
      case 0x85: opName = 'TUPLE1'; { const a = pop(); push(new PyTuple([a])); } break;
      case 0x86: opName = 'TUPLE2'; { const b = pop(); const a = pop(); push(new PyTuple([a, b])); } break;
      case 0x87: opName = 'TUPLE3'; { const c = pop(); const b = pop(); const a = pop(); push(new PyTuple([a, b, c])); } break;
      case 0x74: opName = 'TUPLE'; push(new PyTuple(popMark())); break;
      case 0x73: opName = 'SETITEM'; { const v = pop(); const k = pop(); setItems(top(), [k, v]); } break;
      case 0x75: opName = 'SETITEMS'; { const items = popMark(); setItems(top(), items); } break;
      case 0x61: opName = 'APPEND'; { const v = pop(); appendItems(top(), [v]); } break;
      case 0x65: opName = 'APPENDS'; { const items = popMark(); appendItems(top(), items); } break;
      case 0x30: opName = 'POP'; pop(); break;
      case 0x31: opName = 'POP_MARK'; popMark(); break;
      case 0x71: opName = 'BINPUT'; put(bytes[need(1)]!); break;
      case 0x72: opName = 'LONG_BINPUT'; put(view.getUint32(need(4), true)); break;
      case 0x94: opName = 'MEMOIZE'; put(memo.size); break;
      case 0x68: opName = 'BINGET'; get(bytes[need(1)]!); break;
      case 0x6a: opName = 'LONG_BINGET'; get(view.getUint32(need(4), true)); break;
      case 0x63: { opName = 'GLOBAL'; const module = line(); const name = line(); push(global(module, name)); break; }
      case 0x93: { opName = 'STACK_GLOBAL';
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw bad('module and name are not strings');
        push(global(module, name));
        break;
      }
      case 0x52: { opName = 'REDUCE';
        const args = pop();
        const callable = pop();
        if (!(args instanceof PyTuple)) throw bad('arguments are not a tuple');
        push(hooks.reduce(callable, args, where.offset + opAt));
        break;
      }
      case 0x62: { opName = 'BUILD';
        const state = pop();
        const obj = pop();
        push(hooks.build(obj, state, where.offset + opAt));
        break;
      }
      case 0x51: { opName = 'BINPERSID';
        const pid = pop();
        if (!hooks.persistentLoad) throw unsafePickle(file, where.offset + opAt, 'pickle uses a persistent id where none is expected');
        push(hooks.persistentLoad(pid, where.offset + opAt));
        break;
      }
      default: {
        const name = OTHER_OPCODES[op] ?? `0x${op.toString(16).padStart(2, '0')}`;
        throw unsafePickle(file, where.offset + opAt, `pickle opcode ${name} is not allowed`, { opcode: name });
      }
    }
  }
}
