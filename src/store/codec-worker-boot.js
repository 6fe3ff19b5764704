// Entry of a codec worker thread. Workers do not inherit the loader a program registered at run time
// (bin/engram.js registers tsx programmatically), so each worker registers it before loading the
// TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
await import('./codec-worker.ts');
