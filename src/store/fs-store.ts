/**
 * @module FsStore: an ObjectStore in a directory — the embedded default.
 *
 * Crash safety rests on one sequence per object: write a temp file `.tmp-<random>` beside the
 * target, fsync it, move it into place (rename; or link for if-absent, which fails atomically when
 * the target exists), then fsync the directory so the new name itself is durable. A crash at any
 * instant leaves either no object or the whole object, plus perhaps a temp file that `list` never
 * shows and {@link removeStaleTemps} deletes.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { EngramError, ioError as toIoError } from '../errors/index.ts';
import { asyncFsOps, syncFsOps, type FsOps } from './fs-ops.ts';
import { checkRange } from './memory-store.ts';
import type { ByteRange, GetOptions, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';
import { missingByHead } from './missing-by-head.ts';

const TEMP_PREFIX = '.tmp-';
/** Writes a put tries when a concurrent delete keeps removing the object's directory. */
const MAX_DIR_ATTEMPTS = 4;

/** The typed error for a failed fs call (errors/io-error.ts: one errno → code and hint table). */
function ioError(e: unknown, what: string, path: string): EngramError {
  return toIoError(e, { path, what });
}

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/** Options of {@link FsStore}. */
export interface FsStoreOptions {
  /**
   * `async` (default): file-system calls run on libuv's thread pool and never block the calling
   * thread. `sync`: calls block the calling thread, which costs less CPU per call; only for a thread
   * that has nothing else to do meanwhile (engram's checkpoint commit thread).
   */
  readonly io?: 'async' | 'sync';
  /**
   * false: no put is fsynced — objects reach the operating system (they survive a crash of the
   * process) but not necessarily the disk (a crash of the machine may lose the newest ones, and a
   * snapshot whose chunks were lost then fails `verify`). For checkpoints so frequent that fsync
   * dominates their cost; torch.save and PyTorch DCP do not fsync either. Default true.
   */
  readonly fsync?: boolean;
}

/** Stores objects as files under a root directory; keys are `/`-separated relative paths. */
export class FsStore implements ObjectStore {
  readonly root: string;
  readonly location: string;
  readonly #fs: FsOps;
  readonly #fsync: boolean;

  constructor(root: string, options: FsStoreOptions = {}) {
    this.root = resolve(root);
    this.location = this.root;
    this.#fs = options.io === 'sync' ? syncFsOps : asyncFsOps;
    this.#fsync = options.fsync ?? true;
  }

  /** The file of `key`, refusing keys that could escape the root or collide with temp files. */
  #path(key: string): string {
    const parts = key.split('/');
    if (key === '' || key.includes('\\') || key.includes('\0') || parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith(TEMP_PREFIX))) {
      throw new EngramError('InvalidArgument', `invalid object key ${JSON.stringify(key)}`, { key });
    }
    return join(this.root, ...parts);
  }

  async get(key: string, range?: ByteRange, options: GetOptions = {}): Promise<Uint8Array> {
    const path = this.#path(key);
    try {
      return await this.#fs.read(path, range, (size) => checkRange(key, size, range ?? { offset: 0, length: size }), options.buffer);
    } catch (e) {
      if (errno(e) === 'ENOENT') throw new EngramError('NotFound', `no object ${key} in ${this.location}`, { key }, { cause: e });
      throw ioError(e, 'cannot read', path);
    }
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<boolean> {
    const path = this.#path(key);
    const dir = dirname(path);
    if (options.ifAbsent && (await this.#exists(path))) return false;
    const durable = this.#fsync && (options.durable ?? true);
    const tmp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      // The directory usually exists already: create it only when the write says it does not. A
      // delete elsewhere may remove it again in between (see delete): then the write fails again,
      // and the directory is made anew, a few times at most.
      for (let attempt = 1; ; attempt++) {
        try {
          await this.#fs.writeNew(tmp, data, durable);
          break;
        } catch (e) {
          if (errno(e) !== 'ENOENT' || attempt === MAX_DIR_ATTEMPTS) throw e;
        }
        await this.#ensureDir(dir, durable);
      }
      let written = true;
      if (options.ifAbsent) {
        try {
          await this.#fs.link(tmp, path);
        } catch (e) {
          if (errno(e) !== 'EEXIST') throw e;
          written = false;
        }
        await this.#fs.unlink(tmp);
      } else {
        await this.#fs.rename(tmp, path);
      }
      if (written && durable) await this.#fs.fsyncDir(dir);
      return written;
    } catch (e) {
      await rm(tmp, { force: true });
      throw ioError(e, 'cannot write', path);
    }
  }

  async #exists(path: string): Promise<boolean> {
    try {
      await this.#fs.stat(path);
      return true;
    } catch (e) {
      if (errno(e) === 'ENOENT') return false;
      throw ioError(e, 'cannot stat', path);
    }
  }

  /**
   * Creates `dir` if needed and makes each new directory entry durable. ENOENT (a delete removed a
   * directory on the path while mkdir -p walked it) returns quietly: put's next write fails and
   * comes back here.
   */
  async #ensureDir(dir: string, durable = true): Promise<void> {
    let first: string | undefined;
    try {
      first = await this.#fs.mkdirp(dir);
    } catch (e) {
      if (errno(e) === 'ENOENT') return;
      throw ioError(e, 'cannot create directory', dir);
    }
    if (first === undefined || !durable) return;
    // Every directory from `first` down to `dir` is new: fsync each one's parent.
    for (let d = dir; ; d = dirname(d)) {
      await this.#fs.fsyncDir(dirname(d));
      if (d === first || d === dirname(d)) break;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.#path(key);
    try {
      const s = await this.#fs.stat(path);
      return s.isFile ? { key, size: s.size, mtimeMs: s.mtimeMs } : undefined;
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined;
      throw ioError(e, 'cannot stat', path);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const slash = prefix.lastIndexOf('/');
    const startKey = slash < 0 ? '' : prefix.slice(0, slash);
    yield* this.#walk(startKey, prefix);
  }

  async *#walk(dirKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const dir = dirKey === '' ? this.root : join(this.root, ...dirKey.split('/'));
    let entries;
    try {
      entries = await this.#fs.readdir(dir);
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return;
      throw ioError(e, 'cannot list', dir);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      if (e.name.startsWith(TEMP_PREFIX)) continue;
      const key = dirKey === '' ? e.name : `${dirKey}/${e.name}`;
      if (e.isDirectory) {
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* this.#walk(key, prefix);
      } else if (e.isFile && key.startsWith(prefix)) {
        try {
          const s = await this.#fs.stat(join(dir, e.name));
          yield { key, size: s.size, mtimeMs: s.mtimeMs };
        } catch (err) {
          // Deleted between readdir and stat (a concurrent GC): it is simply not there.
          if (errno(err) !== 'ENOENT') throw ioError(err, 'cannot stat', join(dir, e.name));
        }
      }
    }
  }

  /**
   * Deletes the file of `key`, then the directories below the top level that this leaves empty
   * (`staging/<save>/` once its intent goes, `chunks/ab/` once GC takes its last chunk): keys imply
   * directories here as on S3, and a directory per finished save would otherwise pile up. Top-level
   * directories (`snapshots/`, `chunks/`, …) stay. `rmdir` refuses a directory that is not empty,
   * so a racing put is never lost; a put whose directory vanished makes it again.
   */
  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await this.#fs.unlink(path);
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw ioError(e, 'cannot delete', path);
    }
    const parts = key.split('/');
    for (let depth = parts.length - 1; depth >= 2; depth--) {
      try {
        await this.#fs.rmdir(join(this.root, ...parts.slice(0, depth)));
      } catch {
        // Not empty (or already gone): the directories above it are not empty either.
        break;
      }
    }
  }

  /** Asks `head` for each key: a directory has no batch query, and a stat is cheap. */
  missing(keys: readonly string[]): Promise<string[]> { return missingByHead(this, keys); }

  async close(): Promise<void> {}
}

/** Deletes temp files left by interrupted puts that are older than `olderThanMs`. Returns how many. */
export async function removeStaleTemps(root: string, olderThanMs: number, now = Date.now()): Promise<number> {
  let removed = 0;
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.startsWith(TEMP_PREFIX)) {
        const s = await stat(p).catch(() => undefined);
        if (s && now - s.mtimeMs > olderThanMs) {
          await rm(p, { force: true });
          removed++;
        }
      }
    }
  };
  await walk(resolve(root));
  return removed;
}

/**
 * Removes empty directories below `root/under` (not `under` itself) whose mtime is older than
 * `olderThanMs`, deepest first. Returns how many. Only old directories go, so a writer that has
 * just created one to put an object in it never loses it; `rmdir` refuses a directory that is no
 * longer empty, so a racing write is never lost either.
 */
export async function removeEmptyDirs(root: string, under: string, olderThanMs: number, now = Date.now()): Promise<number> {
  let removed = 0;
  const walk = async (dir: string, top: boolean): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name), false);
    if (top || entries.some((e) => !e.isDirectory())) return;
    const s = await stat(dir).catch(() => undefined);
    if (!s || now - s.mtimeMs <= olderThanMs) return;
    try {
      await rmdir(dir);
      removed++;
    } catch {
      // Not empty any more, or gone: either way nothing to do.
    }
  };
  await walk(join(resolve(root), ...under.split('/')), true);
  return removed;
}
