/** @module SHA-256, the hash that keys every chunk (config.json `hash`). */
import { createHash } from 'node:crypto';

/** Hex SHA-256 of `data`. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
