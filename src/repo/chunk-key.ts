/** @module Where a chunk object lives: `chunks/<first 2 hex>/<sha256>`. */

/** The store key of the chunk whose raw bytes hash to `hash`. */
export function chunkKey(hash: string): string {
  return `chunks/${hash.slice(0, 2)}/${hash}`;
}

/** The hash in a chunk key, or undefined for any other key. */
export function hashOfChunkKey(key: string): string | undefined {
  const m = /^chunks\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(key);
  return m ? m[1] : undefined;
}
