/**
 * @module The messages between the S3 benchmark's driver (bench/s3.ts) and its worker processes
 * (bench/s3-worker.ts): one JSON object per line. A measurement is two steps — `prepare` (open the
 * repository, resolve the snapshot, build the client) and `go` — so that every worker starts its
 * timed part together and setup costs stay out of the figures.
 */

/** Plain PUTs of the workload cut into `objectSize` objects; worker k of n sends objects i ≡ k (mod n). */
export interface RawPutTask {
  readonly kind: 'rawPut';
  readonly bucket: string;
  /** Key prefix of the objects. */
  readonly prefix: string;
  readonly objectSize: number;
  /** Requests in flight at once per worker. */
  readonly concurrency: number;
}

/** Plain GETs of the objects a {@link RawPutTask} with the same fields wrote. */
export interface RawGetTask extends Omit<RawPutTask, 'kind'> {
  readonly kind: 'rawGet';
}

/** One rank of a sharded save (every tensor split along dimension 0) into the repository at `url`. */
export interface SaveTask {
  readonly kind: 'save';
  readonly url: string;
  readonly run: string;
  readonly step: number;
}

/** One rank of a resharded restore (the default plan: sharded tensors split along dimension 0). */
export interface RestoreTask {
  readonly kind: 'restore';
  readonly url: string;
  readonly ref: string;
}

/** Anything a worker measures. */
export type Task = RawPutTask | RawGetTask | SaveTask | RestoreTask;

/** Driver → worker. */
export type Command = { readonly op: 'prepare'; readonly task: Task } | { readonly op: 'go' } | { readonly op: 'exit' };

/** The box of one tensor a restoring rank got, and the SHA-256 of its bytes. */
export interface RestoredBox {
  readonly offsets: readonly number[];
  readonly shape: readonly number[];
  readonly sha256: string;
}

/** What one worker measured in one `go`. */
export interface TaskResult {
  /** Start and end of the timed part, ms since the epoch (comparable across processes). */
  readonly t0: number;
  readonly t1: number;
  /** Raw tensor (or object) bytes this worker moved. */
  readonly bytes: number;
  /** CPU seconds the worker process used in the timed part (all its threads). */
  readonly cpuSeconds: number;
  /** Objects written / read, their bytes, and the most requests in flight at once. */
  readonly puts: number;
  readonly putBytes: number;
  readonly gets: number;
  readonly getBytes: number;
  readonly maxInFlight: number;
  /** save: the committed snapshot id (rank 0 only) and the bytes of new chunk objects. */
  readonly snapshot?: string;
  readonly storedBytes?: number;
  /** restore: what the rank got, by tensor name. */
  readonly boxes?: Readonly<Record<string, RestoredBox>>;
}

/** Worker → driver: one line per command, or an error. */
export type Reply = { readonly loaded: true } | { readonly prepared: true } | { readonly result: TaskResult } | { readonly error: string };
