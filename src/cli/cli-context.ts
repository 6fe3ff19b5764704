/** @module What every command receives: parsed global options and output helpers. */
import { Repository, type FileTensorDecoder, type OpenOptions } from '../repo/index.ts';

// The format readers are most of the package: they load when a tensor held in a file is read, not
// when a command opens a repository (`engram log` never reads one).
const decodeFileTensor: FileTensorDecoder = async (file, tensor) => (await import('../formats/index.ts')).decodeFileTensor(file, tensor);

/** Global options and I/O of one CLI invocation. */
export interface CliContext {
  /** Repository location: `--repo`, else `ENGRAM_REPO`, else `./.engram`. */
  readonly repo: string;
  /** Print JSON instead of text. */
  readonly json: boolean;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** Opens the context's repository (`options` tune it for the command, e.g. its chunk cache). */
export function openRepo(ctx: CliContext, options: Pick<OpenOptions, 'chunkCacheBytes'> = {}): Promise<Repository> {
  // Tensors held only inside a saved compressed file are decoded from the rebuilt file.
  return Repository.open(ctx.repo, { ...options, fileTensors: decodeFileTensor });
}

/** Prints `value` as indented JSON. */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2));
}
