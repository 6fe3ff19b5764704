/**
 * @module The envelope of engram's JSON records (snapshot manifests, distributed save parts):
 * `{"sha256": <hex of the body's JSON>, "body": …}`, so a damaged record is told apart from a
 * different one.
 */
import { sha256Hex } from '../codec/index.ts';

/** `body` as a checksummed record. */
export function encodeChecksummed(body: unknown): Uint8Array {
  const json = JSON.stringify(body);
  return new TextEncoder().encode(`{"sha256":"${sha256Hex(new TextEncoder().encode(json))}","body":${json}}\n`);
}

/** The body of a checksummed record; `bad(reason)` makes the error for a damaged one. */
export function decodeChecksummed(bytes: Uint8Array, bad: (reason: string) => Error): unknown {
  let outer: { sha256?: unknown; body?: unknown };
  try {
    outer = JSON.parse(new TextDecoder().decode(bytes)) as typeof outer;
  } catch {
    throw bad('not valid JSON');
  }
  if (typeof outer !== 'object' || outer === null || typeof outer.sha256 !== 'string') throw bad('no checksum');
  if (sha256Hex(new TextEncoder().encode(JSON.stringify(outer.body))) !== outer.sha256) throw bad('checksum mismatch');
  return outer.body;
}
