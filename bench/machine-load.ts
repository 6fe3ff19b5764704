/**
 * @module waitForQuietCpu: this machine is shared (tests, builds), and two busy cores halve every
 * throughput figure. Before each workload the driver samples /proc/stat and waits (up to a limit)
 * until the other processes leave the CPUs mostly idle; the busy share it saw is reported with the
 * figures, so a noisy run is recognisable as one.
 */
import { readFileSync } from 'node:fs';

function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** The share (0–1) of all CPUs busy over the next `ms` milliseconds; undefined off Linux. */
export async function cpuBusyShare(ms = 1000): Promise<number | undefined> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  if (!a || !b || b.total === a.total) return undefined;
  return (b.busy - a.busy) / (b.total - a.total);
}

/**
 * Waits until the CPUs are less than `threshold` busy over a second, for at most `maxSeconds`.
 * Returns the last busy share measured and the seconds waited.
 */
export async function waitForQuietCpu(threshold = 0.15, maxSeconds = 120): Promise<{ busy: number | undefined; waited: number }> {
  const t0 = performance.now();
  let busy = await cpuBusyShare();
  while (busy !== undefined && busy >= threshold && (performance.now() - t0) / 1000 < maxSeconds) busy = await cpuBusyShare();
  return { busy, waited: (performance.now() - t0) / 1000 };
}

/** A reading of the machine's CPU counters (USER_HZ ticks, summed over CPUs). */
export interface CpuReading {
  readonly busy: number;
  readonly total: number;
}

/** The machine's CPU counters now (undefined off Linux). */
export function readCpu(): CpuReading | undefined {
  return cpuTimes();
}

/**
 * The share (0–1) of the machine's CPU time between two readings that processes other than ours
 * used: all busy time minus `ownCpuSeconds` (what our processes report they used). USER_HZ is 100
 * on Linux.
 */
export function othersShare(a: CpuReading | undefined, b: CpuReading | undefined, ownCpuSeconds: number): number | undefined {
  if (!a || !b || b.total === a.total) return undefined;
  const busy = (b.busy - a.busy) / 100;
  const total = (b.total - a.total) / 100;
  return Math.max(0, busy - ownCpuSeconds) / total;
}
