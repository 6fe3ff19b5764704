/**
 * @module Lowers the calling thread's CPU priority, so that background work (committing
 * checkpoints) takes only CPU time the training loop leaves idle. On a machine with as many busy
 * threads as cores, an equal-priority commit thread would take its share from training; at nice 19
 * the scheduler gives training ~98% of a contended core, and the commit still runs at full speed
 * on any core that is otherwise idle.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The nice value background threads run at (the lowest priority). */
export const BACKGROUND_NICE = 19;

/**
 * Sets the calling thread's nice value to {@link BACKGROUND_NICE}. Linux only (`setpriority` on a
 * thread id affects that thread alone there); elsewhere, or when the system refuses, it does
 * nothing and returns false: the commit thread then simply runs at normal priority.
 */
export function lowerThisThreadPriority(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    // "/proc/thread-self" links to "<pid>/task/<tid>" for the calling thread.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isSafeInteger(tid) || tid <= 0) return false;
    setPriority(tid, BACKGROUND_NICE);
    return true;
  } catch {
    return false;
  }
}
