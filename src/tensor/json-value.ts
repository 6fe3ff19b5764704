/** @module JsonValue: any value JSON can hold, read-only; metadata, configs and state records use it. */

/** A JSON value (what `JSON.parse` returns), deeply read-only. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [k: string]: JsonValue };
