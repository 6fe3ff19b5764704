/**
 * @module s3Server: the S3 server the S3 benchmark talks to — the one the usual AWS variables name
 * (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), else a
 * one-node Ceph RGW of its own started with scripts/rgw-start.sh in a temporary directory and
 * stopped with scripts/rgw-stop.sh when the benchmark ends (also on Ctrl-C).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SCRIPTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts');

/** Where the server is, how to sign in, and how the benchmark got it. */
export interface S3Server {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** The bucket the benchmark writes into (created on first write). */
  readonly bucket: string;
  /** One line for the report: which server this is. */
  readonly description: string;
  /** The variables that point a child process at this server. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * CPU seconds the server's daemons (monitor, OSD, gateway) have used so far; undefined for a
   * server the benchmark did not start (its processes are not ours to find).
   */
  cpuSeconds(): number | undefined;
  /** Stops the server if the benchmark started it; a no-op otherwise. */
  stop(): Promise<void>;
}

/** The bucket the benchmark uses: ENGRAM_BENCH_S3_BUCKET, default `engram-bench`. */
function benchBucket(): string {
  return process.env.ENGRAM_BENCH_S3_BUCKET ?? 'engram-bench';
}

function serverOf(endpoint: string, accessKeyId: string, secretAccessKey: string, region: string, description: string, stop: () => Promise<void>, runDir?: string): S3Server {
  return {
    endpoint, accessKeyId, secretAccessKey, region, bucket: benchBucket(), description, stop,
    cpuSeconds: () => (runDir === undefined ? undefined : daemonCpuSeconds(runDir)),
    env: { AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: region },
  };
}

/**
 * The server from the environment, or a fresh Ceph RGW (memstore OSD: objects live in RAM, so the
 * figures measure the gateway and the network stack, not a disk). `log` receives progress lines.
 */
export async function s3Server(log: (line: string) => void): Promise<S3Server> {
  const env = process.env;
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (endpoint) {
    if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
      throw new Error(`bench:s3: ${endpoint} is set but AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not`);
    }
    log(`S3 server from the environment: ${endpoint}, bucket ${benchBucket()}`);
    return serverOf(endpoint, env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, region, `the server the environment names (${endpoint})`, async () => undefined);
  }
  const parent = await mkdtemp(join(tmpdir(), 'engram-bench-rgw-'));
  const dir = join(parent, 'rgw');
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    try {
      await promisify(execFile)('bash', [join(SCRIPTS, 'rgw-stop.sh'), dir]);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
    log(`stopped the benchmark's own Ceph RGW (${dir})`);
  };
  // Ctrl-C must not leave a cluster running: stop it, then exit as the signal would have.
  const onSignal = (signal: NodeJS.Signals): void => {
    void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  log(`no AWS_ENDPOINT_URL in the environment: starting a Ceph RGW of our own in ${dir} (scripts/rgw-start.sh)`);
  const t0 = performance.now();
  try {
    await promisify(execFile)('bash', [join(SCRIPTS, 'rgw-start.sh'), dir], { env: { ...env, RGW_BUCKET: benchBucket() }, maxBuffer: 16 << 20 });
  } catch (e) {
    await stop().catch(() => undefined);
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new Error(`bench:s3: scripts/rgw-start.sh could not start Ceph RGW: ${stderr.trim() || String(e)}`);
  }
  const vars = parseEnvFile(await readFile(join(dir, 's3.env'), 'utf8'));
  const ep = vars.AWS_ENDPOINT_URL;
  if (!ep || !vars.AWS_ACCESS_KEY_ID || !vars.AWS_SECRET_ACCESS_KEY) {
    await stop();
    throw new Error(`bench:s3: ${join(dir, 's3.env')} lacks the endpoint or keys`);
  }
  log(`Ceph RGW up at ${ep} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return serverOf(ep, vars.AWS_ACCESS_KEY_ID, vars.AWS_SECRET_ACCESS_KEY, vars.AWS_REGION ?? region, 'its own one-node Ceph RGW on loopback (scripts/rgw-start.sh; memstore OSD, objects in RAM)', stop, join(dir, 'run'));
}

/** `export NAME=value` lines, as rgw-start.sh writes them. */
function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
  }
  return out;
}

/** utime + stime of every daemon whose pid file rgw-start.sh left in `runDir` (USER_HZ is 100 on Linux). */
function daemonCpuSeconds(runDir: string): number | undefined {
  try {
    let ticks = 0;
    for (const f of readdirSync(runDir).filter((n) => n.endsWith('.pid'))) {
      const pid = readFileSync(join(runDir, f), 'utf8').trim();
      // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks / 100;
  } catch {
    return undefined;
  }
}
