/** @module Public surface of errors/: the error class, codes and helpers. */
export { EngramError, ERROR_CODES, isEngramError } from './engram-error.ts';
export type { ErrorCode, ErrorData } from './engram-error.ts';
export { formatError } from './format-error.ts';
export { ioError, isErrnoException } from './io-error.ts';
