/**
 * @module Imported first by the `engram` command, for its side effect: libuv's thread pool, which
 * runs every asynchronous file-system call, has 4 threads unless told otherwise, and a durable save
 * keeps several of them waiting on fsync while the next chunks' writes queue behind them. 16
 * threads let writes, reads and fsyncs of different chunks overlap. It must be set before the pool
 * first starts, so this module does nothing but that; a user's own setting wins. (A library cannot
 * choose this for the program that imports it: docs/ARCHITECTURE.md suggests it to users.)
 */
process.env.UV_THREADPOOL_SIZE ??= '16';

export {};
