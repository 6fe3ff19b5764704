/**
 * @module The body of a checkpoint commit thread: opens the repository once and commits staged
 * checkpoints (save, best tag, retention) on its own event loop. See commit-thread.ts for why.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EngramError } from '../errors/index.ts';
import { CodecPool, Repository, type TensorInput } from '../repo/index.ts';
import { FsStore } from '../store/index.ts';
import type { CommitReady, CommitReply, CommitRequest, PostedCommit } from './commit-thread.ts';
import { lowerThisThreadPriority } from './background-priority.ts';
import { tagBest } from './tag-best.ts';

const port = parentPort;
if (!port) throw new Error('commit-worker.ts must run in a worker thread');
// This thread is the background already: it codes chunks itself rather than handing them on.
CodecPool.configureShared(0);
// It takes only CPU that training leaves idle (see background-priority.ts). Threads it starts
// inherit the priority, which is why the main thread starts libuv's pool before this thread exists.
lowerThisThreadPriority();
const { location, fsync } = workerData as { location: string; fsync: boolean };
// This thread does nothing but commit, so its file-system calls may block it: that skips a
// thread-pool round trip per call (see store/fs-ops.ts), CPU that training would otherwise lose.
const repoPromise = Repository.open(location, { store: new FsStore(location, { io: 'sync', fsync }) });
// Tells the main thread this thread can commit now (CheckpointManager.ready()); id 0 is never a request's.
repoPromise.then(
  () => port.postMessage({ id: 0, ok: true, ready: true } satisfies CommitReady),
  (e: unknown) => port.postMessage({ id: 0, ok: false, ready: true, message: (e as Error)?.message ?? String(e) } satisfies CommitReady),
);
// Requests arrive one at a time (the manager chains its commits), but a queue keeps it so anyway.
let chain: Promise<void> = Promise.resolve();

// The staging buffers the main thread has sent, by number (see PostedCommit).
const buffers = new Map<number, SharedArrayBuffer>();

port.on('message', (posted: PostedCommit) => {
  for (const [n, buf] of posted.newBuffers) buffers.set(n, buf);
  const req = unpost(posted);
  for (const n of posted.dropped) buffers.delete(n);
  chain = chain.then(() => handle(req).then(
    (reply) => port.postMessage(reply),
    (e: unknown) => {
      const err = e instanceof EngramError ? { code: e.code, message: e.message, data: e.data }
        : { code: 'IOError' as const, message: `checkpoint commit failed: ${(e as Error)?.message ?? String(e)}`, data: {} };
      port.postMessage({ id: req.id, ok: false, error: err } satisfies CommitReply);
    },
  ));
});

/** The request with each buffer number replaced by a view of the buffer. */
function unpost(posted: PostedCommit): CommitRequest {
  const { newBuffers: _n, dropped: _d, ...rest } = posted;
  if (!posted.save.tensors) return rest as CommitRequest;
  const tensors: Record<string, TensorInput> = {};
  for (const [name, t] of Object.entries(posted.save.tensors)) {
    if (t.data === undefined || t.data instanceof Uint8Array) {
      tensors[name] = { ...t, data: t.data };
      continue;
    }
    const buf = buffers.get(t.data.buffer);
    if (!buf) throw new Error(`staging buffer ${t.data.buffer} of tensor ${name} was never sent`);
    tensors[name] = { ...t, data: new Uint8Array(buf, t.data.byteOffset, t.data.byteLength) };
  }
  return { ...rest, save: { ...rest.save, tensors } };
}

async function handle(req: CommitRequest): Promise<CommitReply> {
  const repo = await repoPromise;
  const snap = await repo.save(req.save);
  const best = req.best ? await tagBest(repo, req.save.run, snap, req.best) : undefined;
  const forgotten = req.retention.length > 0 ? (await repo.forget({ run: req.save.run, rules: req.retention })).forgotten : [];
  return { id: req.id, ok: true, manifest: snap.manifest, ...(best ? { best } : {}), forgotten: [...forgotten] };
}
