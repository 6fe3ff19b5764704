/**
 * @module Runs h5wasm in one worker thread, one request at a time. The HDF5 library can abort (which
 * leaves its wasm instance unusable), call exit, or loop on a malformed file; in a worker each of
 * these ends the request with an error and the worker is replaced, while the process lives on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { H5wasmRequest, H5wasmResponse, Hdf5ReadLimits, Hdf5Tree, Hdf5WriteRequest } from './h5wasm-protocol.ts';

type Pending = {
  readonly req: H5wasmRequest;
  readonly timeoutMs: number;
  readonly resolve: (res: H5wasmResponse) => void;
};

// A worker is replaced after this many requests, so heap the library leaks on failed opens stays bounded.
const REQUESTS_PER_WORKER = 500;

let worker: Worker | undefined;
let ready: Promise<void> | undefined;
let served = 0;
let nextId = 1;
const queue: Pending[] = [];
let running = false;

function retire(): void {
  const w = worker;
  worker = undefined;
  ready = undefined;
  served = 0;
  if (w) void w.terminate();
}

function spawn(): Promise<void> {
  // h5wasm opens and writes real files (its Node build has no in-memory file system): each worker
  // gets a private directory, removed when the worker ends, so concurrent processes never collide.
  const dir = mkdtempSync(join(tmpdir(), 'engram-h5wasm-'));
  const w = new Worker(new URL('./h5wasm-worker.js', import.meta.url), { workerData: { dir } });
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  // An idle worker does not hold the process open, so it may still run when the process exits.
  process.once('exit', remove);
  w.once('exit', () => {
    process.off('exit', remove);
    remove();
  });
  worker = w;
  return new Promise<void>((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (typeof m === 'object' && m !== null && 'ready' in m) {
        w.off('message', onMessage);
        w.off('error', reject);
        resolve();
      }
    };
    w.on('message', onMessage);
    w.once('error', reject);
  });
}

async function runOne(p: Pending): Promise<void> {
  if (!ready || served >= REQUESTS_PER_WORKER) {
    retire();
    ready = spawn();
  }
  try {
    await ready;
  } catch (e) {
    retire();
    p.resolve({ id: p.req.id, ok: false, message: `the h5wasm worker did not start: ${(e as Error).message}`, fatal: true });
    return;
  }
  const w = worker!;
  served++;
  const res = await new Promise<H5wasmResponse>((resolve) => {
    const done = (r: H5wasmResponse): void => {
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
      resolve(r);
    };
    const onMessage = (m: H5wasmResponse): void => {
      if (m.id === p.req.id) done(m);
    };
    const onError = (e: Error): void => done({ id: p.req.id, ok: false, message: `h5wasm crashed: ${e.message}`, fatal: true });
    const onExit = (code: number): void => done({ id: p.req.id, ok: false, message: `h5wasm exited with status ${code}`, fatal: true });
    const timer = setTimeout(
      () => done({ id: p.req.id, ok: false, message: `h5wasm did not finish within ${p.timeoutMs} ms`, fatal: true, limit: true }),
      p.timeoutMs,
    );
    w.on('message', onMessage);
    w.once('error', onError);
    w.once('exit', onExit);
    w.postMessage(p.req);
  });
  if (!res.ok && res.fatal) {
    retire();
    // Started now, so the next request does not wait for a new worker to load.
    ready = spawn();
    ready.catch(() => retire());
  }
  p.resolve(res);
}

async function pump(): Promise<void> {
  if (running) return;
  running = true;
  worker?.ref();
  try {
    for (let p = queue.shift(); p; p = queue.shift()) await runOne(p);
  } finally {
    running = false;
    // An idle worker must not keep the process alive.
    worker?.unref();
  }
}

function request(req: H5wasmRequest, timeoutMs: number): Promise<H5wasmResponse> {
  return new Promise((resolve) => {
    queue.push({ req, timeoutMs, resolve });
    void pump();
  });
}

/** The tree of `bytes` as h5wasm reads it, or a failed response (message, whether a limit was hit). */
export async function h5wasmRead(bytes: Uint8Array, limits: Hdf5ReadLimits, timeoutMs: number): Promise<{ tree: Hdf5Tree } | { error: string; limit: boolean }> {
  const res = await request({ id: nextId++, op: 'read', bytes, limits }, timeoutMs);
  if (res.ok) return { tree: res.tree! };
  return { error: res.message, limit: res.limit === true };
}

/** The bytes of the HDF5 file `file` describes, written by h5wasm. Throws the library's message on failure. */
export async function h5wasmWrite(file: Hdf5WriteRequest, timeoutMs: number): Promise<Uint8Array> {
  const res = await request({ id: nextId++, op: 'write', file }, timeoutMs);
  if (!res.ok) throw new Error(res.message);
  return res.bytes!;
}
