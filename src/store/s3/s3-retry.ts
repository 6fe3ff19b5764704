/**
 * @module Retries of S3 requests: throttling (503 SlowDown, 429), other 5xx, timeouts and dropped
 * connections are retried with exponential backoff and full jitter, so that many writers backing off
 * from one busy gateway spread out instead of returning in lockstep. The SDK's own retries are off
 * (maxAttempts 1) so that this is the one policy, and tests can count what it does.
 */

/** How often and how patiently to retry. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 8). */
  readonly attempts?: number;
  /** Backoff before the 2nd attempt, ms; doubles each time (default 50). */
  readonly baseDelayMs?: number;
  /** Longest single backoff, ms (default 5000). */
  readonly maxDelayMs?: number;
  /**
   * No new attempt starts this long after the first one did (default 60000). GC's safety argument
   * (src/repo/gc.ts) assumes a put or delete takes effect soon after it was issued — within
   * STALE_MS/2 — so retries must not stretch one logical write over many minutes.
   */
  readonly maxElapsedMs?: number;
  /** Source of randomness for the jitter (default Math.random). */
  readonly random?: () => number;
  /** Called before each retry, for logging and tests. */
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

const RETRYABLE_NAMES = new Set(['IncompleteBody', 'SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequests', 'RequestTimeout', 'RequestTimeTooSkewed', 'InternalError', 'ServiceUnavailable', 'TimeoutError']);
const RETRYABLE_SYSCALL_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** The HTTP status of an SDK error, if it carries one. */
export function httpStatusOf(e: unknown): number | undefined {
  const status = (e as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** True for failures that another attempt may not see: throttling, 5xx, timeouts, lost connections. */
export function isRetryable(e: unknown): boolean {
  const status = httpStatusOf(e);
  if (status === 429 || (status !== undefined && status >= 500 && status !== 501)) return true;
  const err = e as { name?: unknown; code?: unknown; message?: unknown } | null;
  if (typeof err?.name === 'string' && RETRYABLE_NAMES.has(err.name)) return true;
  if (typeof err?.code === 'string' && RETRYABLE_SYSCALL_CODES.has(err.code)) return true;
  // Node reports a connection closed mid-response as a plain Error with this message.
  return typeof err?.message === 'string' && /socket hang up|ECONNRESET|EPIPE/.test(err.message);
}

/** Runs `op` (given the attempt number, from 1) until it succeeds, fails for good, or attempts run out. */
export async function withRetry<T>(op: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 8);
  const base = options.baseDelayMs ?? 50;
  const cap = options.maxDelayMs ?? 5000;
  const random = options.random ?? Math.random;
  const deadline = Date.now() + (options.maxElapsedMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt);
    } catch (e) {
      if (attempt >= attempts || !isRetryable(e)) throw e;
      const delayMs = Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1)));
      if (Date.now() + delayMs >= deadline) throw e;
      options.onRetry?.({ attempt, delayMs, error: e });
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
