/**
 * The differential checks shared by the entropy coders' kernel tests (rANS, Huffman): a plane coder
 * with a TypeScript reference ('js') and a WebAssembly kernel ('wasm') that must write the same bytes
 * and read each other's payloads, and agree on what a corrupt payload is.
 */
import assert from 'node:assert/strict';
import { isEngramError } from '../../src/errors/index.ts';
import { same } from './weight-planes.ts';

/** Which loops of a coder run: the TypeScript reference or the kernel. */
export type Loops = 'js' | 'wasm';

/** A plane coder's two entry points, each run with the given loops. */
export interface PlaneCoder {
  encode(loops: Loops, plane: Uint8Array): Uint8Array;
  decode(loops: Loops, payload: Uint8Array, length: number): Uint8Array;
}

/** The checks of one coder. */
export function coderChecks(coder: PlaneCoder): {
  /** Encodes `p` both ways: the same bytes, and each decoder reads back `p` from the other's payload; returns the payload. */
  differential: (p: Uint8Array, what: string) => Uint8Array;
  /** What decoding `payload` with `loops` gives: the bytes, or the IntegrityMismatch's message. */
  outcome: (loops: Loops, payload: Uint8Array, n: number) => { bytes?: Uint8Array; error?: string };
} {
  const differential = (p: Uint8Array, what: string): Uint8Array => {
    const js = coder.encode('js', p);
    const wasm = coder.encode('wasm', p);
    assert.ok(same(js, wasm), `${what}: the kernel encodes to other bytes (${wasm.byteLength} against ${js.byteLength})`);
    assert.ok(same(coder.decode('wasm', js, p.byteLength), p), `${what}: the kernel misdecodes`);
    assert.ok(same(coder.decode('js', wasm, p.byteLength), p), `${what}: the reference misdecodes the kernel's payload`);
    return js;
  };
  const outcome = (loops: Loops, payload: Uint8Array, n: number): { bytes?: Uint8Array; error?: string } => {
    try {
      return { bytes: coder.decode(loops, payload, n) };
    } catch (e) {
      if (isEngramError(e, 'IntegrityMismatch')) return { error: e.message };
      throw e;
    }
  };
  return { differential, outcome };
}
