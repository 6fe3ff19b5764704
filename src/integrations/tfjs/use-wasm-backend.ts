/**
 * @module Switches TF.js to its WebAssembly backend with the `.wasm` binaries read from the
 * installed `@tensorflow/tfjs-backend-wasm` package on disk.
 *
 * In Node the backend's Emscripten loader reads the binary with `fs.readFileSync` from the path it is
 * given; it fetches only when told to (`setWasmPaths(…, usePlatformFetch = true)`) or in a browser.
 * Pointing it at absolute paths of the package's own files keeps it from ever going to the network,
 * wherever the calling code is bundled or run from.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EngramError } from '../../errors/index.ts';

/** The three binaries the backend picks from (plain, SIMD, threaded SIMD). */
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;

/** What {@link useWasmBackend} set up. */
export interface WasmBackendInfo {
  /** `tf.getBackend()` afterwards: always `'wasm'`. */
  readonly backend: string;
  /** Absolute paths of the binaries the backend was given, by file name. */
  readonly wasmPaths: Readonly<Record<(typeof WASM_FILES)[number], string>>;
}

/**
 * Makes `wasm` the active TF.js backend, its binaries loaded from local `node_modules` (never
 * fetched). Safe to call more than once. Throws `NotFound` when a binary is missing and
 * `Unsupported` when the backend does not start.
 *
 * @example
 * await useWasmBackend();   // before building models
 */
export async function useWasmBackend(): Promise<WasmBackendInfo> {
  const require = createRequire(import.meta.url);
  const dist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const wasmPaths = Object.fromEntries(WASM_FILES.map((f) => [f, join(dist, f)])) as Record<(typeof WASM_FILES)[number], string>;
  for (const path of Object.values(wasmPaths)) {
    if (!existsSync(path)) throw new EngramError('NotFound', `the TF.js wasm binary ${path} is missing; reinstall @tensorflow/tfjs-backend-wasm`, { path });
  }
  const before = { uncaughtException: process.listeners('uncaughtException'), unhandledRejection: process.listeners('unhandledRejection') };
  try {
    // The backend registers itself with TF.js on import, so it is imported only when asked for.
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (tf.getBackend() !== 'wasm') {
      // Paths must be set before the backend first initialises (tf.findBackend would start that);
      // after a successful start they are never read again, so setting them twice is harmless.
      wasm.setWasmPaths(wasmPaths, false);
      if (!(await tf.setBackend('wasm'))) throw new EngramError('Unsupported', 'the TF.js wasm backend did not start');
    }
    await tf.ready();
  } finally {
    removeEmscriptenHandlers(before);
  }
  return { backend: tf.getBackend(), wasmPaths };
}

/**
 * The backend's Emscripten module, when it starts in Node, adds process listeners that rethrow every
 * uncaught exception and unhandled rejection (they exist for Emscripten's own `exit()`, which TF.js
 * never calls). Rethrowing from a listener makes any error of the host program exit with status 7
 * and print the throwing line — the whole minified module — instead of the error. TF.js removes
 * them only on `dispose()`; this removes them as soon as the backend has started: every listener
 * added while it started (a listener the host adds in those few milliseconds would go too).
 */
function removeEmscriptenHandlers(before: { readonly uncaughtException: readonly unknown[]; readonly unhandledRejection: readonly unknown[] }): void {
  for (const l of process.listeners('uncaughtException')) if (!before.uncaughtException.includes(l)) process.removeListener('uncaughtException', l);
  for (const l of process.listeners('unhandledRejection')) if (!before.unhandledRejection.includes(l)) process.removeListener('unhandledRejection', l);
}
