/** @module Counted nouns in CLI output: "1 file", "2 files". */

/** `n` and `noun`, with an `s` unless `n` is 1. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
