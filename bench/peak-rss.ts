/**
 * @module peakRssKiB: this process's peak resident set size. On Linux it is read from VmHWM in
 * /proc/self/status, not from process.resourceUsage().maxRSS: getrusage's maxrss survives exec and
 * starts from the RSS of the forked copy of the parent, so a child of a driver holding 2 GiB reports
 * at least 2 GiB whatever it does. VmHWM belongs to the process's own address space.
 */
import { readFileSync } from 'node:fs';

/** Peak RSS in KiB (VmHWM on Linux, else getrusage's maxRSS) and which source it came from. */
export function peakRssKiB(): { kib: number; source: 'VmHWM' | 'maxRSS' } {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return { kib: Number(m[1]), source: 'VmHWM' };
  } catch {
    // not Linux
  }
  return { kib: process.resourceUsage().maxRSS, source: 'maxRSS' };
}
