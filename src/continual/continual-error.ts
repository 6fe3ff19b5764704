/**
 * @module The two error shapes continual/ raises: a caller's bad input (`InvalidArgument`) and a
 * namespace that is not what this build wrote (`FormatError`, with `data.namespace` and `reason`).
 */
import { EngramError } from '../errors/index.ts';

/** `InvalidArgument` with `data`. */
export function invalid(message: string, data: Readonly<Record<string, unknown>> = {}): EngramError {
  return new EngramError('InvalidArgument', message, data);
}

/** `FormatError` for namespace `namespace`: `reason` is a short machine-readable word. */
export function malformed(namespace: string, message: string, reason: string, data: Readonly<Record<string, unknown>> = {}): EngramError {
  return new EngramError('FormatError', `namespace ${namespace}: ${message}`, { namespace, reason, ...data });
}

/**
 * Checks a record's `format` and `version`: `FormatError` when it is another kind of record
 * (`reason: 'not <format>'`) or when a newer engram wrote it (`reason: 'newer version'`), so an old
 * build never half-reads a layout it does not know.
 */
export function checkRecordHeader(record: unknown, namespace: string, format: string, version: number): Record<string, unknown> {
  if (!record || typeof record !== 'object' || Array.isArray(record)) throw malformed(namespace, `has no ${format} record`, 'no record');
  const r = record as Record<string, unknown>;
  if (r.format !== format) throw malformed(namespace, `holds ${JSON.stringify(r.format)}, not ${format}`, `not ${format}`);
  if (typeof r.version !== 'number' || !Number.isInteger(r.version) || r.version < 1) throw malformed(namespace, `has no valid version (${JSON.stringify(r.version)})`, 'bad version');
  if (r.version > version) {
    throw malformed(namespace, `was written by a newer engram (${format} version ${r.version}; this build reads up to ${version})`, 'newer version', { version: r.version });
  }
  return r;
}

/** True for a non-negative safe integer. */
export function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
