/**
 * @module GGUF metadata values as JSON-able data. The value type is kept with each value, so a
 * header read and written again is the same bytes: 64-bit integers are decimal strings (they can
 * exceed 2^53), non-finite floats are the strings `NaN`, `Infinity`, `-Infinity`.
 */

/** GGUF metadata value types, in the order of their numeric ids (0 = UINT8 … 12 = FLOAT64). */
export const GGUF_VALUE_TYPES = [
  'UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'FLOAT32', 'BOOL', 'STRING', 'ARRAY', 'UINT64', 'INT64', 'FLOAT64',
] as const;

/** A GGUF metadata value type. */
export type GgufValueType = (typeof GGUF_VALUE_TYPES)[number];

/** A non-array value: number (≤ 32-bit ints, finite floats), string (STRING, 64-bit ints, non-finite floats) or boolean. */
export type GgufScalar = number | string | boolean;

/** An array value: its item type and items (nested arrays are themselves `GgufArray`s). */
export interface GgufArray {
  readonly itemType: GgufValueType;
  readonly items: readonly GgufValue[];
}

/** Any metadata value. */
export type GgufValue = GgufScalar | GgufArray;

/** One metadata key/value pair, in file order. */
export interface GgufKv {
  readonly key: string;
  readonly type: GgufValueType;
  readonly value: GgufValue;
}

/** Bytes a value of `type` takes at least (an empty string or array still has its length). */
export function minValueSize(type: GgufValueType): number {
  switch (type) {
    case 'UINT8': case 'INT8': case 'BOOL': return 1;
    case 'UINT16': case 'INT16': return 2;
    case 'UINT32': case 'INT32': case 'FLOAT32': return 4;
    case 'UINT64': case 'INT64': case 'FLOAT64': case 'STRING': return 8;
    case 'ARRAY': return 12; // item type u32 + count u64
  }
}

/** The JSON-able form of a float read from a file. */
export function floatValue(x: number): number | string {
  return Number.isFinite(x) ? x : String(x);
}

/** The number a float value stands for, or undefined when it is not one. */
export function floatFromValue(v: GgufValue): number | undefined {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return undefined;
}
