/**
 * @module Which process wrote a coordination object, told precisely enough that another process on
 * the same machine can see at once that the writer is gone (coordination.ts): the host name, the
 * pid, and on Linux the boot id, the pid namespace and the process's start time.
 *
 * Why each part: two machines (or containers) may share a host name, so the boot id — one per
 * kernel boot, shared by every container on that kernel — tells machines apart; containers on one
 * kernel each have their own pid numbers, so the pid namespace must match too before a pid means
 * the same process; and a pid is reused once its process has ended, so the start time (field 22 of
 * /proc/<pid>/stat, in clock ticks since boot) tells the owner from a later process with its pid.
 * Where /proc is missing (macOS) only host and pid are compared, and a reused pid then makes a dead
 * owner look alive — the safe direction: its lock expires by time as before.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/** The identity of a process, as recorded in intents and GC markers. */
export interface ProcessIdentity {
  readonly host: string;
  readonly pid: number;
  /** /proc/sys/kernel/random/boot_id (Linux). */
  readonly bootId?: string;
  /** The target of /proc/self/ns/pid, e.g. `pid:[4026531836]` (Linux). */
  readonly pidNs?: string;
  /** Field 22 of /proc/<pid>/stat (Linux). */
  readonly procStart?: string;
}

function tryRead<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** Field 22 (starttime) of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses. */
function procStart(pid: number | 'self'): string | undefined {
  const stat = tryRead(() => readFileSync(`/proc/${pid}/stat`, 'latin1'));
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[22 - 3]; // fields[0] is field 3 (state)
}

let self: ProcessIdentity | undefined;

/** This process's identity (computed once). */
export function currentProcess(): ProcessIdentity {
  if (!self) {
    const bootId = tryRead(() => readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim());
    const pidNs = tryRead(() => readlinkSync('/proc/self/ns/pid'));
    const start = procStart('self');
    self = { host: hostname(), pid: process.pid, ...(bootId ? { bootId } : {}), ...(pidNs ? { pidNs } : {}), ...(start ? { procStart: start } : {}) };
  }
  return self;
}

/**
 * True only when `owner` certainly no longer runs: it ran on this machine and in this pid namespace
 * (each compared where both sides know it), and its pid is free (`kill(pid, 0)` fails with ESRCH)
 * or now belongs to a process that started at another time. False whenever that cannot be told —
 * another host, another container, no /proc — so callers fall back to the time-based expiry.
 */
export function processGone(owner: ProcessIdentity): boolean {
  const me = currentProcess();
  if (owner.host !== me.host) return false;
  if (owner.bootId !== undefined && me.bootId !== undefined && owner.bootId !== me.bootId) return false;
  if (owner.pidNs !== undefined && me.pidNs !== undefined && owner.pidNs !== me.pidNs) return false;
  if (!Number.isSafeInteger(owner.pid) || owner.pid <= 0) return false;
  if (owner.pid === me.pid) return owner.procStart !== undefined && me.procStart !== undefined && owner.procStart !== me.procStart;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    // EPERM: the pid exists but belongs to another user — alive as far as we can tell.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
  if (owner.procStart === undefined) return false;
  const now = procStart(owner.pid);
  return now !== undefined && now !== owner.procStart;
}
