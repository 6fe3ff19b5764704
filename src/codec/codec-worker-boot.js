// Entry of a codec worker thread started from the sources (CodecPool picks it when it runs as
// TypeScript): a worker does not inherit a loader registered at run time, so it registers tsx before
// loading the TypeScript worker body. The compiled pool (dist/) starts codec-worker.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./codec-worker.ts');
