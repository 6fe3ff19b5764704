/**
 * @module eachConcurrently: the bounded parallel loop of reads (chunks, manifests, tensors) — a few
 * workers share one cursor, so at most `limit` calls are in flight and items start in order.
 */

/**
 * Calls `fn` on every item, at most `limit` at once (none when `limit` < 1), items started in
 * order. Rejects with the first failure; calls already started still run to their end.
 */
export async function eachConcurrently<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
