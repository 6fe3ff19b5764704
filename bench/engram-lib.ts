/**
 * @module The engram library as the benchmarks load it: the compiled `dist/` that `npm install`
 * builds — what a user's program and the `engram` CLI run, whose codec workers start without a
 * TypeScript loader — or, with ENGRAM_BENCH_SOURCES=1, the sources through tsx. bench/main.ts
 * rebuilds dist/ first when a source is newer, so a figure never comes from stale code.
 */
import type * as Engram from '../src/index.ts';
import { buildJs } from '../scripts/build.ts';

// Emits only the sources changed since the last build (none: a hash of each, milliseconds).
if (!process.env.ENGRAM_BENCH_SOURCES) buildJs();
const entry = process.env.ENGRAM_BENCH_SOURCES ? '../src/index.ts' : '../dist/index.js';
// The same module either way; typed from the sources, which dist/ is compiled from.
const engram = (await import(entry)) as typeof Engram;

/** The library's Repository, from dist/ (or the sources). */
export const Repository = engram.Repository;
/** The type of a {@link Repository} instance. */
export type Repository = Engram.Repository;
