/**
 * @module The names of a training state's extension namespaces. A namespace's tensors are saved as
 * `<namespace>/<tensor>` and its record as blob `<namespace>`, next to the state's own `model/…`,
 * `optimizer/…`, `rng`, `data` and `train`, so a name must never reach into those, nor into another
 * namespace: with `ewc` and `ewc/task-a` both present, `ewc/task-a/fisher` would be ambiguous.
 *
 * Grammar: one to four segments joined by `/`, at most 128 characters in all; a segment is a
 * letter or digit followed by up to 63 letters, digits, `_`, `-` or `.` (so never empty, `.` or
 * `..`). The first segment is not one of the reserved names.
 */
import { EngramError } from '../errors/index.ts';

/** First segments a namespace may not use: the training state's own parts. */
export const RESERVED_NAMESPACES: readonly string[] = Object.freeze(['model', 'optimizer', 'rng', 'data', 'train']);

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAX_SEGMENTS = 4;
const MAX_LENGTH = 128;

/**
 * Returns `name` when it is a valid namespace name, else throws `InvalidArgument` saying why
 * (`data.reason`: `grammar` or `reserved`).
 *
 * @example
 * checkNamespaceName('ewc/task-a'); // 'ewc/task-a'
 * checkNamespaceName('model/extra'); // throws: model is the state's own
 */
export function checkNamespaceName(name: string): string {
  const bad = (why: string, reason: 'grammar' | 'reserved'): EngramError =>
    new EngramError('InvalidArgument', `namespace name ${JSON.stringify(name)} ${why}`, { namespace: typeof name === 'string' ? name : String(name), reason });
  if (typeof name !== 'string' || name === '') throw bad('is empty', 'grammar');
  if (name.length > MAX_LENGTH) throw bad(`is longer than ${MAX_LENGTH} characters`, 'grammar');
  const segments = name.split('/');
  if (segments.length > MAX_SEGMENTS) throw bad(`has more than ${MAX_SEGMENTS} segments`, 'grammar');
  for (const s of segments) {
    if (!SEGMENT.test(s)) throw bad(`has segment ${JSON.stringify(s)}: a segment is a letter or digit followed by up to 63 letters, digits, _, - or .`, 'grammar');
  }
  if (RESERVED_NAMESPACES.includes(segments[0]!)) throw bad(`uses ${segments[0]}, which is the training state's own (reserved: ${RESERVED_NAMESPACES.join(', ')})`, 'reserved');
  return name;
}

/**
 * Throws `InvalidArgument` when one namespace lies inside another (`ewc` and `ewc/task-a`): their
 * snapshot names could collide.
 */
export function checkNamespacesDisjoint(names: readonly string[]): void {
  const all = new Set(names);
  for (const inner of names) {
    const segments = inner.split('/');
    for (let k = 1; k < segments.length; k++) {
      const outer = segments.slice(0, k).join('/');
      if (all.has(outer)) {
        throw new EngramError('InvalidArgument', `namespace ${inner} lies inside namespace ${outer}; their tensor names could collide (use e.g. ${outer}/main and ${inner})`, {
          namespace: inner, outer, reason: 'nested',
        });
      }
    }
  }
}
