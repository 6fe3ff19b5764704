/**
 * @module eachConcurrently: the bounded parallel loop of reads (chunks, manifests, tensors) — a few
 * workers share one cursor, so at most `limit` calls are in flight and items start in order.
 */

/**
 * Calls `fn` on every item, at most `limit` at once (none when `limit` < 1), items started in
 * order. After a failure no further item starts; once the calls in flight have ended it rejects
 * with the first failure, so a caller cleaning up after it never races a call still running.
 */
export async function eachConcurrently<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { readonly error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
