// Entry of a checkpoint commit thread: registers the TypeScript loader (workers do not inherit one
// registered at run time), then loads the worker body.
import { register } from 'tsx/esm/api';

register();
await import('./commit-worker.ts');
