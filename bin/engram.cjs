#!/usr/bin/env node
// The engram CLI: runs the compiled JavaScript in dist/, which `npm install` builds (the `prepare`
// script) and `npm run build` rebuilds. It never loads a TypeScript loader: start-up is what node
// and the command's own imports cost (bench/startup.ts).
//
// This file is CommonJS on purpose: node starts a CommonJS entry ~10 ms sooner than an ES module
// (no module loader to set up), which is the margin `engram --version` needs to answer within
// 150 ms here. Every command still runs as ES modules from dist/, imported below.
'use strict';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // The plain form only (`--version --json` and the rest go through main); same words as main's.
  process.stdout.write(`engram ${require('../package.json').version}\n`);
} else {
  // File I/O (each chunk: write, fsync, link, directory fsync) and zstd share libuv's thread pool,
  // whose default of 4 threads queues stat calls behind fsyncs. It is sized when first used, so
  // this must happen before any asynchronous I/O.
  process.env.UV_THREADPOOL_SIZE ??= '16';
  import('../dist/cli/main.js').then(
    async ({ main }) => { process.exitCode = await main(argv); },
    (e) => {
      if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli/main.js')) throw e;
      process.stderr.write('engram: dist/ is missing: run `npm run build` (or `npm install`) in the engram package\n');
      process.exitCode = 1;
    },
  );
}
