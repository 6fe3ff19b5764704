/**
 * @module warmGuestMemory: on this (virtual) machine, memory the guest touches for the first time
 * costs ~0.5 GB/s — page cache included — while memory freed and reused costs a fraction of that.
 * Whichever contender ran first would pay it, so before measuring anything the driver has a child
 * process touch and free enough memory for the whole run; every contender then runs in the same
 * steady state. (A second run on the same machine finds it already warm and takes a few seconds.)
 */
import { execFileSync } from 'node:child_process';

const TOUCH = `
const gib = Number(process.argv[1]);
const keep = [];
for (let i = 0; i < gib; i++) { const b = new Uint8Array(1 << 30); for (let j = 0; j < b.length; j += 4096) b[j] = 1; keep.push(b); }
`;

/** Touches and releases `gib` GiB in a child process; returns the seconds it took. */
export function warmGuestMemory(gib: number): number {
  const t0 = performance.now();
  execFileSync(process.execPath, ['-e', TOUCH, String(gib)], { stdio: 'ignore' });
  return (performance.now() - t0) / 1000;
}

/** Flushes dirty pages, so that a timed write is not charged for earlier writes' writeback. */
export function syncDisks(): void {
  execFileSync('sync');
}
