/** @module describeMachine: what the figures were measured on, for the report and docs/BENCHMARKS.md. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';

/** The machine a run measured. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly ramGiB: number;
  readonly node: string;
  readonly os: string;
  readonly kernel: string;
  /** Device, filesystem and size of the disk holding the temp directory. */
  readonly disk: string;
  readonly virtualised: string;
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** Describes this machine; `dir` is where the benchmarks write. */
export function describeMachine(dir: string): Machine {
  const os = /PRETTY_NAME="([^"]+)"/.exec((() => {
    try {
      return readFileSync('/etc/os-release', 'utf8');
    } catch {
      return '';
    }
  })())?.[1] ?? process.platform;
  const df = run('df', ['-PT', dir]).split('\n').pop()?.split(/\s+/) ?? [];
  const device = df[0] ?? '?';
  const name = device.replace(/^\/dev\//, '');
  const rotational = run('cat', [`/sys/block/${name}/queue/rotational`]);
  const size = df[2] ? `${Math.round(Number(df[2]) / 1024 / 1024)} GiB` : '?';
  const hyper = /Hypervisor vendor:\s*(.+)/.exec(run('lscpu', []))?.[1]?.trim();
  return {
    cpu: cpus()[0]?.model.trim() ?? '?',
    cores: cpus().length,
    ramGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    os,
    kernel: release(),
    disk: `${device} (${df[1] ?? '?'}, ${size}${rotational === '1' ? ', reported rotational — virtual disk' : rotational === '0' ? ', non-rotational' : ''})`,
    virtualised: hyper ? `yes (${hyper})` : 'not detected',
  };
}
