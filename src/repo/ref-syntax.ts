/**
 * @module The ref syntax of DESIGN §2: a snapshot id (or a unique prefix of one), `run@step`,
 * `run@latest`, `run@best:<metric>` (also `best:min:<m>` / `best:max:<m>`), `tag:<name>`, a bare
 * tag name, each optionally followed by `~N` for the N-th parent.
 */
import { EngramError } from '../errors/index.ts';

/** A parsed ref. */
export type RefSpec =
  | { readonly kind: 'id'; readonly id: string; readonly ancestor: number }
  | { readonly kind: 'step'; readonly run: string; readonly step: number; readonly ancestor: number }
  | { readonly kind: 'latest'; readonly run: string; readonly ancestor: number }
  | { readonly kind: 'best'; readonly run: string; readonly metric: string; readonly mode: 'min' | 'max'; readonly ancestor: number }
  | { readonly kind: 'tag'; readonly name: string; readonly ancestor: number }
  | { readonly kind: 'name'; readonly name: string; readonly ancestor: number };

/**
 * Which way is better for a metric when `best:<metric>` does not say: losses and errors are
 * minimised, everything else (accuracy, reward, BLEU) maximised.
 */
export function defaultMetricMode(metric: string): 'min' | 'max' {
  return /loss|err|perplexity|ppl|mse|mae|rmse|wer|cer|nll/i.test(metric) ? 'min' : 'max';
}

function invalid(ref: string, why: string): EngramError {
  return new EngramError('InvalidArgument', `invalid ref ${JSON.stringify(ref)}: ${why}`, { ref });
}

/** Parses a ref string. */
export function parseRef(ref: string): RefSpec {
  let body = ref.trim();
  let ancestor = 0;
  const tilde = /~(\d*)$/.exec(body);
  if (tilde) {
    ancestor = tilde[1] === '' ? 1 : Number(tilde[1]);
    body = body.slice(0, tilde.index);
  }
  if (body === '') throw invalid(ref, 'empty');
  if (body.startsWith('tag:')) return { kind: 'tag', name: body.slice(4), ancestor };
  const at = body.indexOf('@');
  if (at < 0) {
    if (/^[0-9A-HJKMNP-TV-Z]{26}$/.test(body)) return { kind: 'id', id: body, ancestor };
    return { kind: 'name', name: body, ancestor };
  }
  const run = body.slice(0, at);
  const what = body.slice(at + 1);
  if (run === '') throw invalid(ref, 'no run name before @');
  if (what === 'latest') return { kind: 'latest', run, ancestor };
  if (what.startsWith('best:')) {
    const parts = what.slice(5).split(':');
    if (parts.length === 2 && (parts[0] === 'min' || parts[0] === 'max') && parts[1]) {
      return { kind: 'best', run, metric: parts[1], mode: parts[0], ancestor };
    }
    if (parts.length === 1 && parts[0]) return { kind: 'best', run, metric: parts[0], mode: defaultMetricMode(parts[0]), ancestor };
    throw invalid(ref, 'write best:<metric> or best:min:<metric> / best:max:<metric>');
  }
  if (/^\d+$/.test(what)) return { kind: 'step', run, step: Number(what), ancestor };
  throw invalid(ref, `after @ expected a step, latest or best:<metric>, got ${JSON.stringify(what)}`);
}
