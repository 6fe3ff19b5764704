/**
 * @module The read API for people and the web UI (runs, snapshots, refs, tensors, stats, diff),
 * mounted by the server under `/api/v1`. Routes are added here; the server app (../app) mounts
 * the returned Hono app after its authentication and limits.
 */
import { Hono } from 'hono';
import type { ServerContext } from '../server-context.ts';

/** Builds the read API's routes over one served repository. */
export function readApi(ctx: ServerContext): Hono {
  void ctx;
  return new Hono();
}
