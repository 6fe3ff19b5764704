/** @module The error every format reader throws for a malformed file. */
import { EngramError } from './engram-error.ts';

/**
 * Builds a `FormatError` naming the file, the byte offset where the problem was found and why.
 *
 * @example throw formatError('model.safetensors', 8, 'header is not valid JSON');
 */
export function formatError(file: string, offset: number, reason: string, cause?: unknown): EngramError {
  return new EngramError('FormatError', `${file}: ${reason} (at byte ${offset})`, { file, offset, reason }, { cause });
}
