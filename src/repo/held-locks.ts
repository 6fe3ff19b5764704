/**
 * @module The save intents and GC markers this process holds, so that a process ending on a signal
 * can withdraw them before it exits (the CLI does, on SIGINT, SIGTERM and SIGHUP) instead of making
 * other processes wait for them to expire. repo/ never installs signal handlers itself: a library
 * must not decide how its host process ends.
 */

/** A coordination object this process holds. */
export interface HeldLock {
  /**
   * Makes the owner stop acting on the repository (a save no longer commits, a GC no longer
   * deletes), waits for the request in flight that could still act, then removes the object.
   */
  release(): Promise<void>;
}

const held = new Set<HeldLock>();

/** Records `lock` as held; the returned function forgets it again (call it when the lock ends normally). */
export function holdLock(lock: HeldLock): () => void {
  held.add(lock);
  return () => void held.delete(lock);
}

/**
 * Releases every save intent and GC marker this process holds (see {@link HeldLock.release});
 * returns how many. Never throws: an object it cannot remove expires as before (STALE_MS, or at
 * once for another process on this machine once this one has exited).
 *
 * @example
 * process.on('SIGINT', () => void releaseHeldLocks().finally(() => process.exit(130)));
 */
export async function releaseHeldLocks(): Promise<number> {
  const locks = [...held];
  held.clear();
  await Promise.all(locks.map((l) => l.release().catch(() => undefined)));
  return locks.length;
}
