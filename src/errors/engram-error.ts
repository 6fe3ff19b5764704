/**
 * @module The one error class engram throws, with a stable `code`, structured `data` and `cause`.
 *
 * Callers branch on `code`, never on message text; the CLI maps the code to an exit status and the
 * HTTP server to a status through {@link ERROR_CODES}.
 */

/** Every stable error code, with the CLI exit status and HTTP status it maps to. */
export const ERROR_CODES = {
  /** Misuse: a bad argument, an unknown command, an option out of range. */
  InvalidArgument: { exit: 2, http: 400, hint: 'Check the arguments; `engram --help` lists them.' },
  /** A snapshot, ref, tensor, object or repository that does not exist. */
  NotFound: { exit: 3, http: 404, hint: 'List what exists with `engram log` or `engram show`.' },
  /** A file that is not valid in the format it claims to be. Nothing was written. */
  FormatError: { exit: 4, http: 422, hint: 'The input file is malformed; the repository is unchanged.' },
  /** Stored bytes whose hash does not match their key: corruption. Never returned as data. */
  IntegrityMismatch: { exit: 5, http: 500, hint: 'Run `engram verify` to list every damaged object.' },
  /** An object that already exists where an if-absent write was asked, or a concurrent change. */
  Conflict: { exit: 6, http: 409, hint: 'Another writer got there first; retry.' },
  /** A pickle that asks for a global or opcode outside the allowlist. Nothing was executed. */
  UnsafePickle: { exit: 7, http: 422, hint: 'The file asks to run code; engram never executes pickles.' },
  /** A repository written by a newer engram, or a feature this build does not have. */
  Unsupported: { exit: 8, http: 501, hint: 'Upgrade engram, or use a supported option.' },
  /** An I/O fault from the operating system or a backend. */
  IOError: { exit: 9, http: 503, hint: 'Check the path, permissions and free space, then retry.' },
} as const;

/** A stable error code: the key callers branch on. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Structured details of an error: plain JSON values only, so errors serialise. */
export type ErrorData = Readonly<Record<string, unknown>>;

/**
 * The base of every error engram throws.
 *
 * @example
 * try { await repo.snapshot('run@7'); }
 * catch (e) { if (e instanceof EngramError && e.code === 'NotFound') { ... } }
 */
export class EngramError extends Error {
  /** The stable code; see {@link ERROR_CODES}. */
  readonly code: ErrorCode;
  /** Structured details (file, offset, tensor, chunk, …). */
  readonly data: ErrorData;
  /** What the user can do about it: the thrower's advice, else the code's general one. */
  readonly hint: string;

  /**
   * `options.hint` replaces the code's general hint (see {@link ERROR_CODES}) where the thrower
   * knows better, e.g. `Conflict` for a repository that already exists is not "retry".
   */
  constructor(code: ErrorCode, message: string, data: ErrorData = {}, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = code;
    this.code = code;
    this.data = data;
    this.hint = options?.hint ?? ERROR_CODES[code].hint;
  }

  /** The CLI exit status for this error. */
  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  /** The HTTP status for this error. */
  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  /** A JSON form for `--json` output and HTTP bodies. */
  toJSON(): { code: ErrorCode; message: string; data: ErrorData } {
    return { code: this.code, message: this.message, data: this.data };
  }
}

/** True when `e` is an EngramError, optionally with the given code. */
export function isEngramError(e: unknown, code?: ErrorCode): e is EngramError {
  return e instanceof EngramError && (code === undefined || e.code === code);
}
