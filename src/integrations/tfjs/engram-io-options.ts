/** @module Where an {@link EngramIOHandler} saves to and loads from. */
import type { Repository } from '../../repo/index.ts';
import type { JsonValue } from '../../tensor/index.ts';

/**
 * Where and how a TF.js model is saved into, or loaded from, an engram repository. One object (or
 * one `engram://` URL, see engram-url.ts) serves both directions: `run` + `step` name the snapshot a
 * save creates and, later, the one a load reads.
 */
export interface EngramIOOptions {
  /** An open Repository (left open), or a path or repository URL (opened for each call, then closed). */
  readonly repo: Repository | string;
  /** Saving: the run of the new snapshot (required). Loading: `run@step`, or `run@latest` without `step`. */
  readonly run?: string;
  /** Saving: the step (default: one past the run's latest). Loading: with `run`. */
  readonly step?: number;
  /** Loading only: any ref — an id, `run@step`, `run@latest`, `run@best:loss`, `tag:name`, with `~N`. */
  readonly ref?: string;
  /** Saving: the parent ref; default the run's latest snapshot, null starts a new lineage. */
  readonly parent?: string | null;
  /** Saving: a message for the snapshot. */
  readonly message?: string;
  /** Saving: metrics of the snapshot (for `run@best:<metric>` and retention). */
  readonly metrics?: Readonly<Record<string, number>>;
  /** Saving: user metadata; the key `tfjs` is engram's own. */
  readonly meta?: Readonly<Record<string, JsonValue>>;
  /** Saving: tags to point at the new snapshot. */
  readonly tags?: readonly string[];
  /** Saving: create the repository when `repo` is a location where none exists yet (default false). */
  readonly create?: boolean;
  /**
   * Saving: refuse artifacts that carry no optimizer state (default true), because
   * `model.save(url)` without `{ includeOptimizer: true }` silently drops it. Set false (URL:
   * `optimizer=optional`) for a model that was never compiled.
   */
  readonly requireOptimizer?: boolean;
}
