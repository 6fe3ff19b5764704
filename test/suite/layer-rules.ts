/**
 * The layer table of src/, written once as data, and the check the layer test runs over every
 * import. docs/ARCHITECTURE.md shows the same table; change both together.
 *
 * A layer is a top-level folder of src/ (`integrations/tfjs` counts as one). The rules:
 * - a file may import files of its own folder, and of its ancestor folders within its layer (a
 *   format's folder uses the shared plumbing at formats/ root);
 * - any other folder — a sibling or child sub-folder, another layer — only through its index.ts,
 *   and another layer only through the index.ts at that layer's root;
 * - a layer imports only the layers listed for it below: downward, never up or sideways;
 * - the package entry files at src/ root (index.ts, s3.ts) import folders' index.ts only (a
 *   subpath such as `engram/s3` may be a sub-folder's surface: store/s3/index.ts);
 * - no import leaves src/.
 */

/** Each layer and the layers it may import, top of the stack first. */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  cli: ['server', 'ops', 'integrations/tfjs', 'continual', 'distributed', 'train', 'repo', 'formats', 'store', 'codec', 'tensor', 'errors'],
  server: ['ops', 'continual', 'train', 'repo', 'formats', 'store', 'codec', 'tensor', 'errors'],
  ops: ['repo', 'formats', 'store', 'codec', 'tensor', 'errors'],
  'integrations/tfjs': ['continual', 'train', 'repo', 'formats', 'store', 'codec', 'tensor', 'errors'],
  continual: ['train', 'repo', 'store', 'codec', 'tensor', 'errors'],
  train: ['repo', 'store', 'codec', 'tensor', 'errors'],
  distributed: ['repo', 'store', 'codec', 'tensor', 'errors'],
  repo: ['store', 'codec', 'tensor', 'errors'],
  formats: ['tensor', 'errors'],
  store: ['errors'],
  codec: ['tensor', 'errors'],
  tensor: ['errors'],
  errors: [],
};

/** The layer names whose root is two folders deep. */
const NESTED_LAYERS = ['integrations/tfjs'];

/** One import: both paths relative to src/, with '/' separators (`repo/gc.ts`). */
export interface ImportEdge {
  readonly from: string;
  readonly to: string;
}

/** The folder of a src/-relative path ('' for the root). */
function folderOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The layer a src/-relative path belongs to ('' for the entry files at src/ root). */
export function layerOf(path: string): string {
  const nested = NESTED_LAYERS.find((l) => path.startsWith(`${l}/`));
  if (nested) return nested;
  const i = path.indexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** Why `edge` breaks a rule, or undefined when it keeps them all. */
export function violation(edge: ImportEdge): string | undefined {
  const { from, to } = edge;
  if (to.startsWith('../') || to === '..') return 'leaves src/';
  const fromLayer = layerOf(from);
  const toLayer = layerOf(to);
  if (toLayer === '') return 'imports a package entry file (src/ root) from inside src/';
  if (!(toLayer in ALLOWED)) return `imports ${toLayer}/, which is in no row of the layer table`;
  if (fromLayer !== '' && !(fromLayer in ALLOWED)) return `${fromLayer}/ is in no row of the layer table`;
  const fromDir = folderOf(from);
  const toDir = folderOf(to);
  if (fromLayer === '') return to.endsWith('/index.ts') ? undefined : `bypasses ${toDir}/index.ts`;
  if (fromLayer !== toLayer) {
    if (!ALLOWED[fromLayer]!.includes(toLayer)) return `${fromLayer}/ may not import ${toLayer}/ (upward or sideways)`;
    if (to !== `${toLayer}/index.ts`) return `bypasses ${toLayer}/index.ts`;
    return undefined;
  }
  if (toDir === fromDir) return undefined;
  if (fromDir.startsWith(`${toDir}/`)) return undefined; // a sub-folder using its layer's plumbing
  if (to !== `${toDir}/index.ts`) return `bypasses ${toDir}/index.ts`;
  return undefined;
}

/** Every edge that breaks a rule, as `from -> to: why`. */
export function violations(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const why = violation(e);
    if (why) out.push(`${e.from} -> ${e.to}: ${why}`);
  }
  return out;
}
