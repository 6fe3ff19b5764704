/**
 * @module The one conversion of an operating-system error (a `NodeJS.ErrnoException`: ENOSPC,
 * EACCES, ENOTDIR, …) into an {@link EngramError}: `IOError` naming the path and the system call,
 * with a hint that fits the errno. The CLI's top-level handler and the file-system code call it, so
 * no command prints a stack trace for a full disk or a read-only directory.
 */
import { EngramError } from './engram-error.ts';

/** A Node.js system error: one with a string errno `code` and, for fs calls, `syscall` and `path`. */
export function isErrnoException(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

// What each errno means to a user, and what they can do about it.
const ERRNO: Readonly<Record<string, { readonly what: string; readonly hint: string }>> = {
  ENOSPC: { what: 'no space left on the device', hint: 'The file system is full: free space there (or write somewhere else), then retry.' },
  EDQUOT: { what: 'disk quota exceeded', hint: 'Your quota on that file system is used up: free space there (or write somewhere else), then retry.' },
  EACCES: { what: 'permission denied', hint: 'Check the permissions of that path (and of its directories), or write somewhere you may.' },
  EPERM: { what: 'operation not permitted', hint: 'Check the permissions and attributes of that path (chattr, mount options), or write somewhere you may.' },
  EROFS: { what: 'read-only file system', hint: 'That file system is mounted read-only: write somewhere else.' },
  ENOTDIR: { what: 'a component of the path is not a directory', hint: 'A component of that path is a file, not a directory: choose a path whose directories are directories.' },
  EISDIR: { what: 'is a directory', hint: 'That path is a directory: name a file.' },
  EEXIST: { what: 'already exists', hint: 'Something already exists at that path: remove it or choose another path.' },
  ENOTEMPTY: { what: 'directory not empty', hint: 'That directory is not empty: empty it or choose another path.' },
  ENAMETOOLONG: { what: 'file name too long', hint: 'Choose a shorter path.' },
  ELOOP: { what: 'too many levels of symbolic links', hint: 'A symbolic link on that path points back at itself: fix or remove it.' },
  EMFILE: { what: 'too many open files', hint: 'This process hit its open-file limit: raise it (ulimit -n), then retry.' },
  ENFILE: { what: 'too many open files in the system', hint: 'The system hit its open-file limit: close other programs or raise fs.file-max, then retry.' },
  EIO: { what: 'input/output error', hint: 'The device reported a hardware or transport error: check the disk (dmesg), then retry.' },
  EXDEV: { what: 'cross-device link', hint: 'Source and target are on different file systems: use a target on the same one.' },
  EBUSY: { what: 'device or resource busy', hint: 'Something else holds that path (a mount point, an open file): retry when it is free.' },
  ENOENT: { what: 'no such file or directory', hint: 'Check the path: nothing exists there.' },
};

/**
 * The `EngramError` for `e`. An `EngramError` passes through unchanged; `ENOENT` becomes `NotFound`
 * (a missing input is not a fault of the disk); every other system error becomes `IOError` with
 * `data` `{ path, syscall, errno }` and the errno's hint. `path` names the file when `e` does not
 * (stream and handle errors carry none); `what` says what engram was doing ("cannot restore").
 *
 * @example
 * try { await writeFile(p, bytes); } catch (e) { throw ioError(e, { path: p, what: 'cannot write' }); }
 */
export function ioError(e: unknown, options: { readonly path?: string; readonly what?: string } = {}): EngramError {
  if (e instanceof EngramError) return e;
  const x = e as NodeJS.ErrnoException;
  const errno = typeof x?.code === 'string' ? x.code : 'EUNKNOWN';
  const path = x?.path ?? options.path;
  const syscall = x?.syscall;
  // mkdir -p of a path whose component is a file fails with EEXIST: for the user, that is ENOTDIR.
  const known = syscall === 'mkdir' && errno === 'EEXIST' ? { what: 'it exists and is not a directory', hint: ERRNO.ENOTDIR!.hint } : ERRNO[errno];
  const what = known?.what ?? (x instanceof Error ? x.message : String(e));
  // "cannot read /x: no such file or directory (ENOENT from open)", or "write /x: … (ENOSPC)".
  const where = [options.what ?? syscall, path].filter((s) => s !== undefined && s !== '').join(' ');
  const message = `${where ? `${where}: ` : ''}${what} (${errno}${options.what && syscall ? ` from ${syscall}` : ''})`;
  const data = { ...(path !== undefined ? { path } : {}), ...(syscall !== undefined ? { syscall } : {}), errno };
  return new EngramError(errno === 'ENOENT' ? 'NotFound' : 'IOError', message, data, { cause: e, ...(known ? { hint: known.hint } : {}) });
}
