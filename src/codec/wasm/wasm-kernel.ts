/**
 * @module Loads one of the codec's WebAssembly kernels (src/codec/wasm/<name>.wasm, built from the
 * C beside it by scripts/build-wasm.sh and committed, so no user needs a compiler) and lends out
 * its linear memory as scratch. The TypeScript implementations stay the reference and the
 * fallback: a kernel is not used where WebAssembly SIMD is missing or when `ENGRAM_KERNELS=js`.
 */
import { readFileSync } from 'node:fs';
import { EngramError } from '../../errors/index.ts';

// The slice of the WebAssembly JS API used here: TypeScript declares it only in the DOM library,
// which this Node project does not load, and @types/node 20 does not declare it.
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface WasmGlobal { readonly value: unknown }
interface WasmInstance { readonly exports: Record<string, unknown> }
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
};

/** A kernel function: wasm pointers and sizes in, a number (or nothing) out. */
export type KernelFunction = (...args: number[]) => number;

/** An instantiated kernel module and the scratch memory its functions work in. */
export interface WasmKernel {
  /** The module's exported functions by name. */
  readonly fn: Readonly<Record<string, KernelFunction>>;
  /** Offset of the first byte past the module's own data and stack: scratch starts here. */
  readonly heapBase: number;
  /**
   * Makes sure the scratch region [heapBase, heapBase + bytes) exists, growing the memory when it
   * is smaller, and returns a byte view of the whole memory. Views taken before a growth are
   * detached by it, so callers take a new one after every reserve.
   */
  reserve(bytes: number): Uint8Array;
}

/** Rounds a kernel-memory offset up to 16 bytes, the SIMD vector size. */
export function align16(n: number): number {
  return (n + 15) & ~15;
}

/** Whether kernels may be used at all: `ENGRAM_KERNELS=js` forces the TypeScript reference. */
export function kernelsEnabled(): boolean {
  return process.env.ENGRAM_KERNELS !== 'js';
}

const cache = new Map<string, WasmKernel | null>();
const PAGE = 65536;

/**
 * The kernel module `name`, instantiated once per thread; undefined when kernels are disabled or
 * this runtime cannot compile the module (no SIMD). A module that is missing from the package is
 * an installation fault, not a fallback case: `Unsupported` names the file.
 */
export function loadKernel(name: string): WasmKernel | undefined {
  if (!kernelsEnabled()) return undefined;
  const hit = cache.get(name);
  if (hit !== undefined) return hit ?? undefined;
  const url = new URL(`./${name}.wasm`, import.meta.url);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(url);
  } catch (e) {
    throw new EngramError('Unsupported', `codec kernel ${name}.wasm is missing from this installation`, { kernel: name, path: url.pathname, cause: String(e) }, {
      hint: 'Reinstall engram (npm install); set ENGRAM_KERNELS=js to run on the TypeScript codec meanwhile.',
    });
  }
  if (!WebAssembly.validate(bytes)) {
    cache.set(name, null);
    return undefined;
  }
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const memory = instance.exports.memory as WasmMemory;
  const heapBase = (instance.exports.__heap_base as WasmGlobal).value as number;
  const fn: Record<string, KernelFunction> = {};
  for (const [k, v] of Object.entries(instance.exports)) if (typeof v === 'function') fn[k] = v as KernelFunction;
  const kernel: WasmKernel = {
    fn,
    heapBase,
    reserve(bytes: number): Uint8Array {
      const need = heapBase + bytes;
      const have = memory.buffer.byteLength;
      if (need > have) memory.grow(Math.ceil((need - have) / PAGE));
      return new Uint8Array(memory.buffer);
    },
  };
  cache.set(name, kernel);
  return kernel;
}
