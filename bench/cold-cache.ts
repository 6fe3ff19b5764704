/**
 * @module dropPageCache: makes the next read of some files come from the disk, not from memory, so
 * that every contender's restore is timed cold. Tries, in order: writing 1 to
 * /proc/sys/vm/drop_caches after sync (every clean page of the machine; needs root), then
 * posix_fadvise(POSIX_FADV_DONTNEED) on each file through a tiny /usr/bin/python3 helper (after an
 * fsync, so the pages are clean and can be dropped). Returns which method worked, for the report.
 * Under a virtual machine the host may still cache the disk image; the figures say "cold" for the
 * guest's page cache only.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/** How the cache was dropped: 'drop_caches', 'posix_fadvise(DONTNEED)', or 'none (reads may be warm)'. */
export type ColdCacheMethod = 'drop_caches' | 'posix_fadvise(DONTNEED)' | 'none (reads may be warm)';

const FADVISE_PY = `
import os, sys
def drop(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
for root in sys.stdin.read().split("\\n"):
    if not root:
        continue
    if os.path.isdir(root):
        for d, _, files in os.walk(root):
            for f in files:
                drop(os.path.join(d, f))
    elif os.path.exists(root):
        drop(root)
`;

let preferred: ColdCacheMethod | undefined = process.env.ENGRAM_BENCH_COLD as ColdCacheMethod | undefined;

/** Drops the page cache of `paths` (files or directories, walked recursively). */
export function dropPageCache(paths: readonly string[]): ColdCacheMethod {
  if (preferred === undefined || preferred === 'drop_caches') {
    try {
      execFileSync('sync');
      writeFileSync('/proc/sys/vm/drop_caches', '1');
      preferred = 'drop_caches';
      return preferred;
    } catch {
      if (preferred === 'drop_caches') preferred = undefined;
    }
  }
  if (preferred === undefined || preferred === 'posix_fadvise(DONTNEED)') {
    const r = spawnSync('/usr/bin/python3', ['-c', FADVISE_PY], { input: paths.join('\n'), encoding: 'utf8' });
    if (r.status === 0) {
      preferred = 'posix_fadvise(DONTNEED)';
      return preferred;
    }
  }
  preferred = 'none (reads may be warm)';
  return preferred;
}
