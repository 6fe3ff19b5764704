/** @module Registers the `engram://` save and load routers with TF.js. */
import * as tf from '@tensorflow/tfjs';
import { EngramIOHandler } from './engram-io-handler.ts';
import { isEngramUrl } from './engram-url.ts';

let registered = false;

/**
 * Lets `model.save('engram://…')` and `tf.loadLayersModel('engram://…')` reach engram (URL syntax
 * in engram-url.ts). Idempotent: TF.js would otherwise find two handlers for one URL and refuse.
 * A malformed `engram://` URL fails the save or load with `InvalidArgument`.
 *
 * @example
 * registerEngramRouters();
 * await model.save('engram:///data/ckpt?run=mnist&step=100', { includeOptimizer: true });
 * const again = await tf.loadLayersModel('engram:///data/ckpt?run=mnist&step=100');
 */
export function registerEngramRouters(): void {
  if (registered) return;
  registered = true;
  tf.io.registerSaveRouter(engramRouter);
  tf.io.registerLoadRouter(engramRouter);
}

/** TF.js asks every router about every URL; null means "not mine". */
function engramRouter(url: string | string[]): tf.io.IOHandler {
  return (isEngramUrl(url) ? new EngramIOHandler(url) : null) as tf.io.IOHandler;
}
