/**
 * @module Which saved file owns a file's tensors: a TF.js weight shard holds bytes of weights its
 * model.json lists, so saved together the weights are named once, after the model.json.
 */
import type { FileInput } from './save-input.ts';

/**
 * The path of the file that owns `file`'s tensors, or undefined when `file` keeps its own: the
 * file it names in `tensorsOf` must be in `byPath`, own its tensors itself (no chains), and list
 * every tensor `file` lists with the same dtype and shape — anything else would make a segment
 * name bytes the snapshot does not hold.
 */
export function tensorOwner(file: FileInput, byPath: ReadonlyMap<string, FileInput>): string | undefined {
  const path = file.tensorsOf;
  if (path === undefined || path === file.path) return undefined;
  const owner = byPath.get(path);
  if (!owner || owner.tensorsOf !== undefined) return undefined;
  const listed = new Map(owner.tensors.map((t) => [t.name, t]));
  for (const t of file.tensors) {
    const o = listed.get(t.name);
    // A tensor the owner holds only inside its own file bytes is no stored tensor a segment could name.
    if (!o || o.literalOnly !== undefined || o.dtype !== t.dtype || o.shape.length !== t.shape.length || o.shape.some((d, i) => d !== t.shape[i])) return undefined;
  }
  // Every segment must name one of those tensors too.
  const names = new Set(file.tensors.map((t) => t.name));
  return file.segments.every((s) => s.kind === 'literal' || names.has(s.tensor)) ? path : undefined;
}
