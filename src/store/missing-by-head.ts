/**
 * @module The default answer to {@link ObjectStore.missing} for backends without a batch query:
 * one `head` per key, a bounded number in flight, so a long list neither waits on one round trip
 * at a time nor opens thousands of requests at once.
 */
import type { ObjectStore } from './object-store.ts';

/** `head` requests in flight at once: enough to hide an S3 round trip, few enough for one socket pool. */
const IN_FLIGHT = 16;

/**
 * Returns the keys of `keys` that `store` does not hold, in their given order, each once.
 * @param store the store to ask (only its `head` is called)
 * @param keys the keys to look for; duplicates are asked once
 */
export async function missingByHead(store: Pick<ObjectStore, 'head'>, keys: readonly string[]): Promise<string[]> {
  const unique = [...new Set(keys)];
  const absent = new Array<boolean>(unique.length).fill(false);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < unique.length; i = next++) absent[i] = (await store.head(unique[i]!)) === undefined;
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, unique.length) }, worker));
  return unique.filter((_, i) => absent[i]);
}
