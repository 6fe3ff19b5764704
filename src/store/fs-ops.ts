/**
 * @module The file-system calls FsStore makes, in two flavours with one contract. `async` runs
 * each call on libuv's thread pool, so the calling thread never blocks: right for the main thread,
 * and for restores that read many files at once. `sync` makes each call on the calling thread: right
 * for a thread that does nothing else, such as the checkpoint commit thread, where a thread-pool
 * round trip (two wake-ups and a promise per call, and a commit is ~90 calls) costs more CPU than
 * the call itself and competes with training for the machine's cores. fsync stays on the thread
 * pool even then: it waits on the disk for milliseconds, and several in flight at once let the
 * file system commit them together.
 */
import * as fs from 'node:fs';
import { link, mkdir, open, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';

const fsyncFd = promisify(fs.fsync);

/** What FsStore needs of a file's metadata. */
export interface FsStat {
  readonly size: number;
  readonly mtimeMs: number;
  readonly isFile: boolean;
}

/** A directory entry. */
export interface FsEntry {
  readonly name: string;
  readonly isDirectory: boolean;
  readonly isFile: boolean;
}

/** The calls FsStore makes. Errors are Node's errno errors, as thrown by node:fs. */
export interface FsOps {
  /**
   * Reads `length` bytes from `offset` (the whole file when no range); checks the range with `check`
   * once the size is known, then reads into `buffer(length)` when given (else a new buffer).
   */
  read(path: string, range: { offset: number; length: number } | undefined, check: (size: number) => void, buffer?: (length: number) => Uint8Array): Promise<Uint8Array>;
  /** Creates `path` (failing if it exists), writes `data`, fsyncs it when `durable`, closes it. */
  writeNew(path: string, data: Uint8Array, durable: boolean): Promise<void>;
  link(from: string, to: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** `mkdir -p`; returns the first directory it created, or undefined when all existed. */
  mkdirp(dir: string): Promise<string | undefined>;
  /** Removes an empty directory (ENOTEMPTY when it is not). */
  rmdir(dir: string): Promise<void>;
  /** Makes a directory's entries durable. */
  fsyncDir(dir: string): Promise<void>;
  stat(path: string): Promise<FsStat>;
  readdir(dir: string): Promise<FsEntry[]>;
}

const statOf = (s: fs.Stats): FsStat => ({ size: s.size, mtimeMs: s.mtimeMs, isFile: s.isFile() });
const entryOf = (e: fs.Dirent): FsEntry => ({ name: e.name, isDirectory: e.isDirectory(), isFile: e.isFile() });

/** Makes the entries of directory `dir` durable (its new, renamed and removed names), on libuv's thread pool. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Every call on libuv's thread pool. */
export const asyncFsOps: FsOps = {
  async read(path, range, check, buffer) {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const r = range ?? { offset: 0, length: size };
      check(size);
      const out = buffer ? buffer(r.length) : new Uint8Array(r.length);
      let done = 0;
      while (done < r.length) {
        const { bytesRead } = await fh.read(out, done, r.length - done, r.offset + done);
        if (bytesRead === 0) throw Object.assign(new Error(`${path} shrank while being read`), { code: 'ESHRUNK' });
        done += bytesRead;
      }
      return out;
    } finally {
      await fh.close();
    }
  },
  async writeNew(path, data, durable) {
    const fh = await open(path, 'wx');
    try {
      let off = 0;
      while (off < data.byteLength) off += (await fh.write(data, off, data.byteLength - off)).bytesWritten;
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
  },
  link: (from, to) => link(from, to),
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  mkdirp: (dir) => mkdir(dir, { recursive: true }),
  rmdir: (dir) => rmdir(dir),
  fsyncDir: fsyncDirectory,
  stat: async (path) => statOf(await stat(path)),
  readdir: async (dir) => (await readdir(dir, { withFileTypes: true })).map(entryOf),
};

/** Every call but fsync on the calling thread (for a thread that has nothing else to do meanwhile). */
export const syncFsOps: FsOps = {
  async read(path, range, check, buffer) {
    const fd = fs.openSync(path, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const r = range ?? { offset: 0, length: size };
      check(size);
      const out = buffer ? buffer(r.length) : new Uint8Array(r.length);
      let done = 0;
      while (done < r.length) {
        const n = fs.readSync(fd, out, done, r.length - done, r.offset + done);
        if (n === 0) throw Object.assign(new Error(`${path} shrank while being read`), { code: 'ESHRUNK' });
        done += n;
      }
      return out;
    } finally {
      fs.closeSync(fd);
    }
  },
  async writeNew(path, data, durable) {
    const fd = fs.openSync(path, 'wx');
    try {
      let off = 0;
      while (off < data.byteLength) off += fs.writeSync(fd, data, off, data.byteLength - off);
      if (durable) await fsyncFd(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  link: async (from, to) => fs.linkSync(from, to),
  rename: async (from, to) => fs.renameSync(from, to),
  unlink: async (path) => fs.unlinkSync(path),
  mkdirp: async (dir) => fs.mkdirSync(dir, { recursive: true }),
  rmdir: async (dir) => fs.rmdirSync(dir),
  async fsyncDir(dir) {
    const fd = fs.openSync(dir, 'r');
    try {
      await fsyncFd(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  stat: async (path) => statOf(fs.statSync(path)),
  readdir: async (dir) => fs.readdirSync(dir, { withFileTypes: true }).map(entryOf),
};
