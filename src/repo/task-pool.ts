/**
 * @module A bounded pool of concurrent async tasks. Save and restore keep a few chunks in flight so
 * that hashing, zstd (on libuv's threads) and I/O overlap, without holding the whole checkpoint in
 * memory: `run` waits for a free slot, which is the backpressure.
 */

/** Runs at most `limit` tasks at once; the first failure is rethrown by `drain`. */
export class TaskPool {
  readonly #limit: number;
  #active = 0;
  #waiters: (() => void)[] = [];
  #failure: { error: unknown } | undefined;
  #all = new Set<Promise<void>>();

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Starts `task` once a slot is free; resolves when it has started (not finished). */
  async run(task: () => Promise<void>): Promise<void> {
    this.#rethrow();
    while (this.#active >= this.#limit) await new Promise<void>((r) => this.#waiters.push(r));
    this.#rethrow();
    this.#active++;
    const p = task()
      .catch((error: unknown) => {
        this.#failure ??= { error };
      })
      .finally(() => {
        this.#active--;
        this.#all.delete(p);
        this.#waiters.shift()?.();
      });
    this.#all.add(p);
  }

  #rethrow(): void {
    if (this.#failure) throw this.#failure.error;
  }

  /** Waits for every started task; throws the first failure. */
  async drain(): Promise<void> {
    while (this.#all.size > 0) await Promise.all([...this.#all]);
    if (this.#failure) throw this.#failure.error;
  }
}
