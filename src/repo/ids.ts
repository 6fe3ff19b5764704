/**
 * @module Time-sortable identifiers (ULID-like): 10 Crockford base-32 characters of milliseconds
 * then 16 random ones. Sorting ids sorts by creation time, which is what makes "newest ref event
 * wins" and snapshot listings cheap.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A clock, passed in so tests can fix time. */
export interface Clock {
  now(): number;
}

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A new 26-character id whose first 10 characters encode `clock.now()`. */
export function newId(clock: Clock = systemClock): string {
  let t = Math.floor(clock.now());
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rnd = randomBytes(16);
  let tail = '';
  for (let i = 0; i < 16; i++) tail += ALPHABET[rnd[i]! & 31];
  return time + tail;
}

/** True when `s` has the shape of an id. */
export function isId(s: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{26}$/.test(s);
}

/** True when `s` could be an abbreviation of an id (at least 6 of its characters). */
export function isIdPrefix(s: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{6,26}$/.test(s);
}
