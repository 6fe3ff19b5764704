/**
 * @module The body of a checkpoint commit thread: opens the repository once and commits staged
 * checkpoints (save, best tag, retention) on its own event loop. See commit-thread.ts for why.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EngramError } from '../errors/index.ts';
import { CodecPool, Repository } from '../repo/index.ts';
import type { CommitReply, CommitRequest } from './commit-thread.ts';
import { tagBest } from './tag-best.ts';

const port = parentPort;
if (!port) throw new Error('commit-worker.ts must run in a worker thread');
// This thread is the background already: it codes chunks itself rather than handing them on.
CodecPool.configureShared(0);
const repoPromise = Repository.open((workerData as { location: string }).location);
// Requests arrive one at a time (the manager chains its commits), but a queue keeps it so anyway.
let chain: Promise<void> = Promise.resolve();

port.on('message', (req: CommitRequest) => {
  chain = chain.then(() => handle(req).then(
    (reply) => port.postMessage(reply),
    (e: unknown) => {
      const err = e instanceof EngramError ? { code: e.code, message: e.message, data: e.data }
        : { code: 'IOError' as const, message: `checkpoint commit failed: ${(e as Error)?.message ?? String(e)}`, data: {} };
      port.postMessage({ id: req.id, ok: false, error: err } satisfies CommitReply);
    },
  ));
});

async function handle(req: CommitRequest): Promise<CommitReply> {
  const repo = await repoPromise;
  const snap = await repo.save(req.save);
  const best = req.best ? await tagBest(repo, req.save.run, snap, req.best) : undefined;
  const forgotten = req.retention.length > 0 ? (await repo.forget({ run: req.save.run, rules: req.retention })).forgotten : [];
  return { id: req.id, ok: true, manifest: snap.manifest, ...(best ? { best } : {}), forgotten: [...forgotten] };
}
