// Entry of a checkpoint commit thread started from the sources (CommitThread picks it when it runs as
// TypeScript): registers the TypeScript loader (a worker does not inherit one registered at run
// time), then loads the thread's body. The compiled thread (dist/) starts commit-worker.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./commit-worker.ts');
