/**
 * @module SHA-256, the hash that keys every chunk (config.json `hash`). node:crypto's SHA-256 (SHA-NI
 * here) was measured against BLAKE3 for issue 12 and kept: native BLAKE3 was only 1.0–1.3× faster
 * (`npm run bench:hash`; docs/ARCHITECTURE.md, "Content hash").
 */
import { createHash } from 'node:crypto';

/** Hex SHA-256 of `data`. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
