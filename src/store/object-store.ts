/**
 * @module The ObjectStore interface: the only way engram touches bytes at rest. Every backend
 * (fs, memory, s3, http) implements it and passes the one conformance suite in test/store/.
 */

/** What `head` and `list` report of one object. */
export interface ObjectInfo {
  /** Key relative to the store's root, `/`-separated. */
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
  /** Last modification time, ms since the epoch (GC's grace period is measured against it). */
  readonly mtimeMs: number;
}

/** Options of {@link ObjectStore.put}. */
export interface PutOptions {
  /**
   * Write only if no object has the key. Returns false (and writes nothing) when one does. The check
   * and the write are one atomic step, so two racing writers never both win.
   */
  readonly ifAbsent?: boolean;
  /**
   * false: the object must be visible to every reader at once, but need not survive a crash of the
   * machine — for advisory records that die with their writer anyway (a save's intent). Saves an
   * fsync or two per record on `fs`; backends that are always durable ignore it. Default true.
   */
  readonly durable?: boolean;
}

/** A byte range of {@link ObjectStore.get}: `length` bytes from `offset`. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** Options of {@link ObjectStore.get}. */
export interface GetOptions {
  /**
   * Where to read the bytes: called once with the length to be returned, it yields a buffer of
   * exactly that many bytes, which `get` fills and returns. Lets a reader of many objects reuse
   * memory it has touched before. A store may ignore it and return a buffer of its own.
   */
  readonly buffer?: (length: number) => Uint8Array;
}

/**
 * A flat key → bytes store. Objects are immutable once written: engram never overwrites a key, and
 * a `put` is atomic: a reader sees all of an object or none of it, even after a crash.
 */
export interface ObjectStore {
  /** A URL-like description of where the store lives, for messages. */
  readonly location: string;
  /** Reads an object, or a byte range of it. Throws `NotFound` when absent. */
  get(key: string, range?: ByteRange, options?: GetOptions): Promise<Uint8Array>;
  /**
   * Writes an object atomically and durably. Returns false only when `ifAbsent` found one. The
   * store keeps no reference to `data` once the returned promise settles: the caller may reuse or
   * transfer its memory then.
   */
  put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean>;
  /** Describes an object, or returns undefined when absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Lists every object whose key starts with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * Which of `keys` the store does not hold, in their given order, each once: the batch question a
   * copy asks before it sends anything (push/pull, an upload to `engram serve`). Backends without a
   * batch query answer with one `head` per key (`missingByHead`).
   */
  missing(keys: readonly string[]): Promise<string[]>;
  /** Deletes an object; deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Releases resources (connections, handles). */
  close(): Promise<void>;
}
