/** @module What every command receives: parsed global options and output helpers. */
import { EngramError, isEngramError } from '../errors/index.ts';
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

/**
 * Opens the context's repository (`options` tune it for the command, e.g. its chunk cache); a
 * missing one is `NotFound` with a hint saying how to make it.
 */
export async function openRepo(ctx: CliContext, options: Pick<OpenOptions, 'chunkCacheBytes'> = {}): Promise<Repository> {
  try {
    // Tensors held only inside a saved compressed file are decoded from the rebuilt file.
    return await Repository.open(ctx.repo, { ...options, fileTensors: decodeFileTensor });
  } catch (e) {
    if (isEngramError(e, 'NotFound') && e.data.location !== undefined) {
      throw new EngramError('NotFound', e.message, e.data, { cause: e, hint: `Create it with \`engram init --repo ${ctx.repo}\`, or point --repo (or $ENGRAM_REPO) at an existing repository.` });
    }
    throw e;
  }
}

/** Prints `value` as indented JSON. */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2));
}
