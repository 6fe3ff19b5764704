/**
 * @module WorkerPool: n worker processes of the S3 benchmark (bench/s3-worker.ts), one per rank,
 * each holding the workload. `measure` prepares the same task on every worker, then starts them
 * together and returns what each measured; the span from the first start to the last end is the
 * wall time of the whole job.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Command, Reply, Task, TaskResult } from './s3-task.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** One worker process and the replies it has sent that nobody has taken yet. */
class Worker {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #queue: Reply[] = [];
  readonly #waiting: ((r: Reply) => void)[] = [];
  #stderr = '';

  constructor(workloadBytes: number, rank: number, world: number, env: Readonly<Record<string, string>>) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 's3-worker.ts'), String(workloadBytes), String(rank), String(world)], {
      cwd: join(HERE, '..'),
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child.stderr.on('data', (d: Buffer) => void (this.#stderr = (this.#stderr + d.toString()).slice(-4000)));
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      this.#deliver(JSON.parse(line) as Reply);
    });
    this.#child.on('close', (code, signal) => this.#deliver({ error: `worker ${rank} exited (${signal ?? code}): ${this.#stderr.trim()}` }));
  }

  #deliver(r: Reply): void {
    const w = this.#waiting.shift();
    if (w) w(r);
    else this.#queue.push(r);
  }

  /** The next reply; throws the worker's error. */
  async next(): Promise<Reply> {
    const r = this.#queue.shift() ?? (await new Promise<Reply>((res) => this.#waiting.push(res)));
    if ('error' in r) throw new Error(r.error);
    return r;
  }

  send(cmd: Command): void {
    this.#child.stdin.write(`${JSON.stringify(cmd)}\n`);
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const closed = new Promise<void>((res) => this.#child.once('close', () => res()));
    this.send({ op: 'exit' });
    this.#child.stdin.end();
    await closed;
  }
}

/** What all ranks of one measurement did together. */
export interface PoolResult {
  /** From the first rank's start to the last rank's end, seconds. */
  readonly seconds: number;
  /** Sum of the ranks' bytes. */
  readonly bytes: number;
  readonly perRank: readonly TaskResult[];
}

/** n worker processes. */
export class WorkerPool {
  readonly size: number;
  readonly #workers: Worker[];

  private constructor(workers: Worker[]) {
    this.#workers = workers;
    this.size = workers.length;
  }

  /** Starts `n` workers and waits until each has loaded the workload. */
  static async start(n: number, workloadBytes: number, env: Readonly<Record<string, string>>): Promise<WorkerPool> {
    const workers = Array.from({ length: n }, (_, rank) => new Worker(workloadBytes, rank, n, env));
    const pool = new WorkerPool(workers);
    try {
      await Promise.all(workers.map((w) => w.next()));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /**
   * Prepares `task` on every worker, then starts them at once; returns when all are done.
   * `onStart` runs just before the start (to read counters that should exclude the preparation).
   */
  async measure(task: Task, onStart?: () => void): Promise<PoolResult> {
    for (const w of this.#workers) w.send({ op: 'prepare', task });
    await Promise.all(this.#workers.map((w) => w.next()));
    onStart?.();
    for (const w of this.#workers) w.send({ op: 'go' });
    const replies = await Promise.all(this.#workers.map((w) => w.next()));
    const perRank = replies.map((r) => {
      if (!('result' in r)) throw new Error(`unexpected reply ${JSON.stringify(r)}`);
      return r.result;
    });
    const t0 = Math.min(...perRank.map((r) => r.t0));
    const t1 = Math.max(...perRank.map((r) => r.t1));
    return { seconds: (t1 - t0) / 1000, bytes: perRank.reduce((a, r) => a + r.bytes, 0), perRank };
  }

  /** Ends every worker. */
  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.close().catch(() => undefined)));
  }
}
