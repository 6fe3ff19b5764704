/**
 * @module The values the restricted unpickler builds: plain data (None, bool, int, float, str,
 * bytes, list, tuple, dict) and opaque objects that only an allowlist hook can create. Nothing here
 * can hold a Python callable that runs.
 */

/** A Python tuple (kept apart from lists so that persistent ids and reduce arguments can be checked). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A dict key that can be looked up: what state dicts use (str, int, bool, None, float). */
type DictKey = string | number | bigint | boolean | null;

/** A Python dict or OrderedDict, in insertion order; keys may be any value, primitive ones are indexed. */
export class PyDict {
  readonly entries: [PyValue, PyValue][] = [];
  readonly #index = new Map<string, number>();
  /** Attributes set by BUILD (an OrderedDict's `_metadata`), kept apart from the items. */
  state: PyValue = null;

  static #keyOf(k: PyValue): string | undefined {
    const p = k as DictKey;
    if (p === null || typeof p === 'string' || typeof p === 'number' || typeof p === 'bigint' || typeof p === 'boolean') {
      // Python hashes 1, 1.0, True and 1n alike; state dicts do not mix them, so numbers share a key.
      return typeof p === 'string' ? `s${p}` : p === null ? 'n' : `v${Number(p)}`;
    }
    return undefined;
  }

  set(k: PyValue, v: PyValue): void {
    const key = PyDict.#keyOf(k);
    const at = key === undefined ? undefined : this.#index.get(key);
    if (at !== undefined) {
      this.entries[at]![1] = v;
      return;
    }
    if (key !== undefined) this.#index.set(key, this.entries.length);
    this.entries.push([k, v]);
  }
}

/** A reference to an allowlisted global (`module.name`), usable only through the allowlist's hooks. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An object made by an allowlist hook (a tensor, a storage reference); opaque to the unpickler. */
export class PyOpaque<T = unknown> {
  constructor(readonly kind: string, readonly value: T) {}
}

/** Any value the unpickler can put on its stack. */
export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PyGlobal | PyOpaque;
