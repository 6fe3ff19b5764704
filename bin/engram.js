#!/usr/bin/env node
// The engram CLI. The TypeScript sources run through tsx's loader, so no build step is needed.
import { register } from 'tsx/esm/api';

// File I/O (each chunk: write, fsync, link, directory fsync) and zstd share libuv's thread pool,
// whose default of 4 threads queues stat calls behind fsyncs. It is sized when first used, so this
// must happen before any asynchronous I/O.
process.env.UV_THREADPOOL_SIZE ??= '16';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
