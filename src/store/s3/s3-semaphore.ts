/**
 * @module A counting semaphore: an S3Store holds one so that however many callers (save's task pool,
 * parallel multipart parts, restore's readers) share it, at most N requests are in flight — past
 * that, a gateway answers 503 SlowDown and every request just waits longer.
 */

/** Lets at most `limit` holders in at once; the others wait in arrival order. */
export class Semaphore {
  readonly #limit: number;
  #active = 0;
  readonly #waiters: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, Math.floor(limit));
  }

  /** Runs `task` once a slot is free and releases the slot when it settles. */
  async use<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit) await new Promise<void>((r) => this.#waiters.push(r));
    else this.#active++;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter (the count stays), so no newcomer can overtake it.
      const next = this.#waiters.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
