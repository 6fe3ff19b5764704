/**
 * @module A parser for the small subset of Python literal syntax that .npy headers use (a dict of
 * strings, booleans, integers and tuples). It exists so that a header is read as data and never
 * evaluated: numpy itself uses `ast.literal_eval`, and so must we, by hand.
 */

/** A parsed Python literal: the only shapes an .npy header can hold. */
export type PyValue =
  | { readonly kind: 'str'; readonly value: string }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'none' }
  | { readonly kind: 'tuple' | 'list'; readonly items: readonly PyValue[] }
  | { readonly kind: 'dict'; readonly entries: ReadonlyMap<string, PyValue> };

/** Why a literal could not be parsed, with the character position. */
export class PyLiteralError extends Error {
  /** Index into the parsed text where the problem was found. */
  readonly position: number;
  constructor(message: string, position: number) {
    super(`${message} at character ${position}`);
    this.position = position;
  }
}

// Headers nest at most two levels (dict → tuple, or a structured descr's list → tuple); a bound
// keeps a hostile header of a million '(' from exhausting the stack.
const MAX_DEPTH = 32;

/**
 * Parses one Python literal that fills `text` (surrounding whitespace allowed).
 *
 * @example parsePythonLiteral("{'shape': (3,), 'fortran_order': False}")
 */
export function parsePythonLiteral(text: string): PyValue {
  let pos = 0;

  const skipSpace = (): void => {
    while (pos < text.length && ' \t\r\n\f\v'.includes(text[pos]!)) pos++;
  };
  const fail = (message: string): never => {
    throw new PyLiteralError(message, pos);
  };

  const parseString = (): PyValue => {
    const quote = text[pos]!;
    pos++;
    let out = '';
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text[pos]!;
      if (c === quote) { pos++; break; }
      if (c === '\n') fail('newline in string');
      if (c !== '\\') { out += c; pos++; continue; }
      const e = text[pos + 1];
      pos += 2;
      switch (e) {
        case '\\': case '\'': case '"': out += e; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case '0': out += '\0'; break;
        case 'x': case 'u': {
          const width = e === 'x' ? 2 : 4;
          const hex = text.slice(pos, pos + width);
          if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) fail('bad escape in string');
          out += String.fromCharCode(parseInt(hex, 16));
          pos += width;
          break;
        }
        default: fail('unsupported escape in string');
      }
    }
    return { kind: 'str', value: out };
  };

  const parseInteger = (): PyValue => {
    const m = /^-?[0-9]+/.exec(text.slice(pos, pos + 64));
    if (!m) return fail('expected a value');
    pos += m[0].length;
    // Python 2 numpy wrote longs as `3L`.
    if (text[pos] === 'L' || text[pos] === 'l') pos++;
    return { kind: 'int', value: BigInt(m[0]) };
  };

  // Returns the items and whether a comma followed the last one (which is what makes `(3,)` a tuple).
  const parseSequence = (close: string, depth: number): { items: PyValue[]; trailingComma: boolean } => {
    const items: PyValue[] = [];
    skipSpace();
    if (text[pos] === close) { pos++; return { items, trailingComma: false }; }
    for (;;) {
      items.push(parseValue(depth + 1));
      skipSpace();
      if (text[pos] === close) { pos++; return { items, trailingComma: false }; }
      if (text[pos] !== ',') fail(`expected ',' or '${close}'`);
      pos++;
      skipSpace();
      if (text[pos] === close) { pos++; return { items, trailingComma: true }; }
    }
  };

  const parseValue = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) fail('literal nested too deeply');
    skipSpace();
    const c = text[pos];
    if (c === undefined) return fail('unexpected end of text');
    if (c === '\'' || c === '"') return parseString();
    if (c === '(') {
      pos++;
      const { items, trailingComma } = parseSequence(')', depth);
      // `(3)` is the integer 3 in Python; only a comma (or `()`) makes a tuple.
      if (items.length === 1 && !trailingComma) return items[0]!;
      return { kind: 'tuple', items };
    }
    if (c === '[') { pos++; return { kind: 'list', items: parseSequence(']', depth).items }; }
    if (c === '{') {
      pos++;
      const entries = new Map<string, PyValue>();
      skipSpace();
      if (text[pos] === '}') { pos++; return { kind: 'dict', entries }; }
      for (;;) {
        skipSpace();
        const keyAt = pos;
        const key = parseValue(depth + 1);
        if (key.kind !== 'str') { pos = keyAt; return fail('dict key is not a string'); }
        skipSpace();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        const value = parseValue(depth + 1);
        if (entries.has(key.value)) { pos = keyAt; fail('duplicate dict key'); }
        entries.set(key.value, value);
        skipSpace();
        if (text[pos] === '}') { pos++; return { kind: 'dict', entries }; }
        if (text[pos] !== ',') fail("expected ',' or '}'");
        pos++;
        skipSpace();
        if (text[pos] === '}') { pos++; return { kind: 'dict', entries }; }
      }
    }
    for (const [word, value] of [['True', true], ['False', false]] as const) {
      if (text.startsWith(word, pos) && !/[A-Za-z0-9_]/.test(text[pos + word.length] ?? '')) {
        pos += word.length;
        return { kind: 'bool', value };
      }
    }
    if (text.startsWith('None', pos) && !/[A-Za-z0-9_]/.test(text[pos + 4] ?? '')) {
      pos += 4;
      return { kind: 'none' };
    }
    return parseInteger();
  };

  const value = parseValue(0);
  skipSpace();
  if (pos !== text.length) fail('unexpected text after the literal');
  return value;
}
