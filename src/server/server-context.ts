/**
 * @module What every route of `engram serve` is handed: the one open repository it serves. The
 * server opens it once at start; routes never open stores or paths of their own.
 */
import type { Repository } from '../repo/index.ts';

/** The state shared by the routes of one server process. */
export interface ServerContext {
  /** The repository being served (fs, s3 or any other store). */
  readonly repo: Repository;
}
