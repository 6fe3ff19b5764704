/**
 * @module A kernel bound to views of its memory, for the glue modules that lay out their scratch from
 * heapBase (rans-kernel.ts, huffman-kernel.ts): the views are renewed whenever the memory grows,
 * which detaches them, and a growth that fails is a fallback to the TypeScript loops, not an error.
 */
import { align16, loadKernel } from './wasm-kernel.ts';
import type { WasmKernel } from './wasm-kernel.ts';

/** A kernel, the start of its scratch (heapBase rounded up to 16), and views of its memory. */
export interface KernelScratch {
  readonly kernel: WasmKernel;
  readonly base: number;
  bytes: Uint8Array;
  u32: Uint32Array;
}

/** The kernel `name` with views of its memory, or undefined when kernels are off or unsupported. */
export function bindKernel(name: string): KernelScratch | undefined {
  const kernel = loadKernel(name);
  if (kernel === undefined) return undefined;
  const bytes = kernel.reserve(0);
  return { kernel, base: align16(kernel.heapBase), bytes, u32: new Uint32Array(bytes.buffer) };
}

/**
 * Makes sure [base, base + bytes) exists and that the views see the current memory; false when the
 * memory cannot grow that far (the caller then runs the TypeScript loops).
 */
export function reserveScratch(b: KernelScratch, bytes: number): boolean {
  let mem: Uint8Array;
  try {
    mem = b.kernel.reserve(b.base - b.kernel.heapBase + bytes);
  } catch (e) {
    if (e instanceof RangeError) return false; // WebAssembly.Memory.grow: out of memory
    throw e;
  }
  if (mem.buffer !== b.bytes.buffer) {
    b.bytes = mem;
    b.u32 = new Uint32Array(mem.buffer);
  }
  return true;
}
