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

let lastId = '';

/**
 * A new 26-character id whose first 10 characters encode `clock.now()`. Ids are strictly increasing
 * within a process, and greater than `after` when given: two ids made in the same millisecond (or
 * after the clock stepped back) continue from the larger one instead of drawing a random order, as
 * ULID's monotonic mode does. Ref events rely on this: the newest event must sort last.
 */
export function newId(clock: Clock = systemClock, after = ''): string {
  let t = Math.floor(clock.now());
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rnd = randomBytes(16);
  let tail = '';
  for (let i = 0; i < 16; i++) tail += ALPHABET[rnd[i]! & 31];
  let id = time + tail;
  const floor = after > lastId ? after : lastId;
  if (id <= floor) id = successor(floor);
  lastId = id;
  return id;
}

/** The id just above `id` in Crockford base-32 order. */
function successor(id: string): string {
  const chars = id.split('');
  for (let i = chars.length - 1; i >= 0; i--) {
    const v = ALPHABET.indexOf(chars[i]!);
    if (v < 31) {
      chars[i] = ALPHABET[v + 1]!;
      return chars.join('');
    }
    chars[i] = ALPHABET[0]!;
  }
  throw new RangeError(`no id after ${id}`);
}

/** True when `s` has the shape of an id. */
export function isId(s: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{26}$/.test(s);
}

/** True when `s` could be an abbreviation of an id (at least 6 of its characters). */
export function isIdPrefix(s: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{6,26}$/.test(s);
}
