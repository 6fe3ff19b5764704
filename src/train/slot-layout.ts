/**
 * @module Comparing the tensor layout a checkpoint holds with the layout of the model or optimizer
 * it is loaded into. Loading Adam's `v` of one weight into the `m` of another gives no error and a
 * silently wrong run, so a resume compares names, order, dtypes and shapes first and says exactly
 * what differs.
 */
import { EngramError } from '../errors/index.ts';
import type { DType, Shape } from '../tensor/index.ts';

/** A tensor's place in a layout: name, dtype and shape. */
export interface SlotSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
}

/** The first difference between two layouts. */
export interface LayoutMismatch {
  /** `missing`/`extra`: names on one side only; `order`: same names, different order; `dtype`/`shape`: one slot differs. */
  readonly kind: 'missing' | 'extra' | 'order' | 'dtype' | 'shape';
  /** The slot concerned (for `order`, the one the checkpoint has at `index`). */
  readonly name: string;
  /** Position in the checkpoint's order, where it applies. */
  readonly index?: number;
  readonly saved?: string;
  readonly expected?: string;
  readonly message: string;
}

const describe = (s: SlotSpec): string => `${s.dtype}[${s.shape.join(', ')}]`;

/**
 * The first difference between `saved` (the checkpoint's layout) and `expected` (what the caller
 * loads into), or undefined when they match. `ordered` says whether order matters (optimizer
 * slots) or not (model weights by name). `what` names the layout in messages (`optimizer slot`).
 */
export function compareLayouts(saved: readonly SlotSpec[], expected: readonly SlotSpec[], what: string, ordered: boolean): LayoutMismatch | undefined {
  const savedNames = new Set(saved.map((s) => s.name));
  const expectedNames = new Set(expected.map((s) => s.name));
  const missing = saved.filter((s) => !expectedNames.has(s.name)).map((s) => s.name);
  const extra = expected.filter((s) => !savedNames.has(s.name)).map((s) => s.name);
  const list = (names: string[]): string => names.slice(0, 5).join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');
  if (missing.length > 0) {
    return {
      kind: 'missing', name: missing[0]!,
      message: `the checkpoint has ${saved.length} ${what}s and the target ${expected.length}: ${list(missing)} ${missing.length === 1 ? 'is' : 'are'} in the checkpoint but not in the target${extra.length ? `; ${list(extra)} only in the target` : ''}`,
    };
  }
  if (extra.length > 0) {
    return { kind: 'extra', name: extra[0]!, message: `the checkpoint has ${saved.length} ${what}s and the target ${expected.length}: ${list(extra)} ${extra.length === 1 ? 'is' : 'are'} in the target but not in the checkpoint` };
  }
  const byName = new Map(expected.map((s) => [s.name, s]));
  for (const [i, s] of saved.entries()) {
    const e = ordered ? expected[i]! : byName.get(s.name)!;
    if (ordered && e.name !== s.name) {
      return {
        kind: 'order', name: s.name, index: i, saved: s.name, expected: e.name,
        message: `${what} order differs: position ${i} is ${s.name} in the checkpoint but ${e.name} in the target (same names, different order)`,
      };
    }
    if (e.dtype !== s.dtype) {
      return { kind: 'dtype', name: s.name, index: i, saved: describe(s), expected: describe(e), message: `${what} ${s.name} is ${describe(s)} in the checkpoint but ${describe(e)} in the target` };
    }
    if (e.shape.length !== s.shape.length || e.shape.some((d, k) => d !== s.shape[k])) {
      return { kind: 'shape', name: s.name, index: i, saved: describe(s), expected: describe(e), message: `${what} ${s.name} is ${describe(s)} in the checkpoint but ${describe(e)} in the target` };
    }
  }
  return undefined;
}

/**
 * Throws `InvalidArgument` with the first difference when the layouts differ (a resume into the
 * wrong optimizer or model is misuse, not an expected outcome).
 *
 * @example
 * checkLayouts(savedSlots, optimizer.slots.map((s) => ({ name: s.name, ...s.tensor })), 'optimizer slot', true);
 */
export function checkLayouts(saved: readonly SlotSpec[], expected: readonly SlotSpec[], what: string, ordered: boolean, data: Record<string, unknown> = {}): void {
  const m = compareLayouts(saved, expected, what, ordered);
  if (m) throw new EngramError('InvalidArgument', `cannot restore into this target: ${m.message}`, { ...data, mismatch: m });
}
