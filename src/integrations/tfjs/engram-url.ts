/**
 * @module The `engram://` URL that `model.save()` and `tf.loadLayersModel()` accept once
 * {@link registerEngramRouters} has run.
 *
 * ```
 * engram://<repository>?<key>=<value>&…
 *
 * <repository>  /abs/path      engram:///data/ckpt?run=mnist&step=100   (three slashes: an absolute path)
 *               rel/path       engram://ckpt?run=mnist                  (relative to the working directory)
 *               <scheme>://…   engram://s3://bucket/prefix?run=mnist     (a repository URL, as Repository.open takes it)
 * keys          run, step, ref, parent, tag (repeatable), message, metric=<name>:<number> (repeatable),
 *               create=true, optimizer=optional
 * ```
 *
 * The repository part is everything between `engram://` and the first `?`; it and every key and
 * value are percent-decoded once (RFC 3986: `+` stays `+`), so a `%`, `?` or `#` in a path is written
 * `%25`, `%3F`, `%23`. WHATWG URL parsing is not used because it would read the first segment of
 * a relative path as a host name.
 */
import { EngramError } from '../../errors/index.ts';
import type { EngramIOOptions } from './engram-io-options.ts';

/** The scheme the routers answer to. */
export const ENGRAM_SCHEME = 'engram://';

/** True when `url` is an `engram://` URL (whatever its parameters). */
export function isEngramUrl(url: unknown): url is string {
  return typeof url === 'string' && url.slice(0, ENGRAM_SCHEME.length).toLowerCase() === ENGRAM_SCHEME;
}

const SINGLE_KEYS = new Set(['run', 'step', 'ref', 'parent', 'message', 'create', 'optimizer']);
const REPEATED_KEYS = new Set(['tag', 'metric']);

/**
 * Parses an `engram://` URL into handler options; `InvalidArgument` naming the problem for anything
 * malformed or unknown, so a typo such as `stpe=100` is an error rather than a save at the wrong step.
 *
 * @example
 * parseEngramUrl('engram:///data/ckpt?run=mnist&step=100');
 * // { repo: '/data/ckpt', run: 'mnist', step: 100 }
 */
export function parseEngramUrl(url: string): EngramIOOptions {
  if (!isEngramUrl(url)) throw invalid(url, `it does not start with ${ENGRAM_SCHEME}`);
  const rest = url.slice(ENGRAM_SCHEME.length);
  if (rest.includes('#')) throw invalid(url, 'it contains "#"; write a # in a path as %23');
  const q = rest.indexOf('?');
  const repo = decode(url, q === -1 ? rest : rest.slice(0, q));
  if (repo === '') throw invalid(url, 'it names no repository (engram:///abs/path or engram://rel/path)');
  if (/^memory:\/\//i.test(repo)) {
    throw invalid(url, 'a memory:// repository is new and empty each time it is opened; pass an open Repository to engramIO() instead');
  }
  const single = new Map<string, string>();
  const tags: string[] = [];
  const metrics: Record<string, number> = {};
  for (const pair of q === -1 || q === rest.length - 1 ? [] : rest.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    const key = decode(url, eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? undefined : decode(url, pair.slice(eq + 1));
    if (SINGLE_KEYS.has(key)) {
      if (single.has(key)) throw invalid(url, `${key} is given twice`);
      single.set(key, value ?? (key === 'create' ? 'true' : ''));
    } else if (REPEATED_KEYS.has(key) && value !== undefined && value !== '') {
      if (key === 'tag') tags.push(value);
      else {
        const m = /^(.+):([^:]+)$/.exec(value);
        const n = m ? Number(m[2]) : NaN;
        if (!m || m[2]!.trim() === '' || !Number.isFinite(n)) throw invalid(url, `metric=${value} is not <name>:<number>`);
        metrics[m[1]!] = n;
      }
    } else if (REPEATED_KEYS.has(key)) {
      throw invalid(url, `${key} needs a value`);
    } else {
      throw invalid(url, `unknown parameter ${JSON.stringify(key)} (known: ${[...SINGLE_KEYS, ...REPEATED_KEYS].join(', ')})`);
    }
  }
  for (const [key, value] of single) {
    if (value === '' && key !== 'message') throw invalid(url, `${key} needs a value`);
  }
  const step = single.get('step');
  if (step !== undefined && !/^\d+$/.test(step)) throw invalid(url, `step=${step} is not a non-negative integer`);
  if (step !== undefined && !Number.isSafeInteger(Number(step))) throw invalid(url, `step=${step} is too large`);
  if (single.has('ref') && (single.has('run') || single.has('step'))) {
    throw invalid(url, 'give either ref=<ref> or run=<run>[&step=<n>], not both');
  }
  if (step !== undefined && !single.has('run')) throw invalid(url, 'step needs run');
  const create = single.get('create');
  if (create !== undefined && create !== 'true' && create !== 'false') throw invalid(url, `create=${create} is not true or false`);
  const optimizer = single.get('optimizer');
  if (optimizer !== undefined && optimizer !== 'required' && optimizer !== 'optional') {
    throw invalid(url, `optimizer=${optimizer} is not required or optional`);
  }
  const parent = single.get('parent');
  return {
    repo,
    ...(single.has('run') ? { run: single.get('run')! } : {}),
    ...(step !== undefined ? { step: Number(step) } : {}),
    ...(single.has('ref') ? { ref: single.get('ref')! } : {}),
    ...(parent !== undefined ? { parent: parent === 'none' ? null : parent } : {}),
    ...(single.has('message') ? { message: single.get('message')! } : {}),
    ...(tags.length > 0 ? { tags } : {}),
    ...(Object.keys(metrics).length > 0 ? { metrics } : {}),
    ...(create !== undefined ? { create: create === 'true' } : {}),
    ...(optimizer !== undefined ? { requireOptimizer: optimizer === 'required' } : {}),
  };
}

function decode(url: string, s: string): string {
  try {
    return decodeURIComponent(s);
  } catch (e) {
    throw new EngramError('InvalidArgument', `engram URL ${url}: ${JSON.stringify(s)} is not valid percent-encoding`, { url }, { cause: e });
  }
}

function invalid(url: string, why: string): EngramError {
  return new EngramError('InvalidArgument', `engram URL ${url}: ${why}`, { url });
}
