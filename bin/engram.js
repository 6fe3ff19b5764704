#!/usr/bin/env node
// The engram CLI: runs the compiled JavaScript in dist/, which `npm install` builds (the `prepare`
// script) and `npm run build` rebuilds. It never loads a TypeScript loader: start-up is what node
// and the command's own imports cost (bench/startup.ts).

// File I/O (each chunk: write, fsync, link, directory fsync) and zstd share libuv's thread pool,
// whose default of 4 threads queues stat calls behind fsyncs. It is sized when first used, so this
// must happen before any asynchronous I/O.
process.env.UV_THREADPOOL_SIZE ??= '16';

let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli/main.js')) throw e;
  process.stderr.write('engram: dist/ is missing: run `npm run build` (or `npm install`) in the engram package\n');
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
